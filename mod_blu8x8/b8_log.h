/* Core logging: core files never include http_log.h. The glue installs a
 * callback so that "LogLevel blu8x8:debug" governs core messages too. */
#ifndef B8_LOG_H
#define B8_LOG_H

#include <apr_general.h>

/* Same numbering as httpd's APLOG_* so the glue can pass levels through. */
typedef enum {
    B8_LOG_ERR = 3, B8_LOG_WARNING = 4, B8_LOG_NOTICE = 5,
    B8_LOG_INFO = 6, B8_LOG_DEBUG = 7
} b8_log_level;

typedef void b8_log_fn(void *baton, b8_log_level level, apr_status_t rv,
                       const char *file, int line, const char *msg);

void b8_log_set(b8_log_fn *fn, void *baton, b8_log_level max_level);
int b8_log_enabled(b8_log_level level);

/* Every message carries a stable id of ours, "B8-0001" style. */
void b8_log_write(b8_log_level level, apr_status_t rv, const char *file, int line,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define B8_LOG(level, rv, ...) \
    do { if (b8_log_enabled(level)) b8_log_write((level), (rv), __FILE__, __LINE__, __VA_ARGS__); } while (0)

#endif
