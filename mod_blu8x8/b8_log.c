#include "b8_log.h"

#include <stdarg.h>
#include <stdio.h>

static b8_log_fn *log_fn;
static void *log_baton;
static b8_log_level log_max = B8_LOG_NOTICE;

void b8_log_set(b8_log_fn *fn, void *baton, b8_log_level max_level)
{
    log_fn = fn;
    log_baton = baton;
    log_max = max_level;
}

int b8_log_enabled(b8_log_level level)
{
    return level <= log_max;
}

void b8_log_write(b8_log_level level, apr_status_t rv, const char *file, int line,
                  const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (log_fn) {
        log_fn(log_baton, level, rv, file, line, msg);
    }
    else {
        fprintf(stderr, "[blu8x8:%d] %s\n", (int)level, msg);
    }
}
