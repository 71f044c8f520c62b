/* Glue shared by the mod_blu8x8*.c files: the module's configuration and
 * the per-process state the handlers and the worker use. */
#ifndef MOD_BLU8X8_H
#define MOD_BLU8X8_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "b8_core.h"
#include "b8_settings.h"
#include "b8_tmpl.h"

#ifndef B8_DEFAULT_STATE_DIR
#define B8_DEFAULT_STATE_DIR "/var/lib/apache2/blu8x8"
#endif
#ifndef B8_DEFAULT_TEMPLATE_DIR
#define B8_DEFAULT_TEMPLATE_DIR "/usr/share/apache2/blu8x8/templates"
#endif
#define B8_DEFAULT_MAX_BODY (256 * 1024)
#define B8_UNSET -1

/* The glue is built with -fvisibility=hidden: the module record is the one
 * symbol the shared object exports (the build checks it). Declared first, so
 * APLOG_USE_MODULE and AP_DECLARE_MODULE inherit the visibility. */
extern module AP_MODULE_DECLARE_DATA __attribute__((visibility("default"))) blu8x8_module;
#ifndef B8_MODULE_MAIN   /* AP_DECLARE_MODULE declares it there */
APLOG_USE_MODULE(blu8x8);
#endif

/* Module-wide configuration (every directive is GLOBAL_ONLY). */
typedef struct {
    const char *db_driver;
    const char *db_params;
    const char *template_dir;
    apr_off_t max_body;
    int worker;                    /* On by default */
    int retry_window;              /* Blu8x8RetryWindow: seconds an 8x8 outage is waited out */
    apr_array_header_t *admins;    /* Blu8x8Admin logins */
    apr_hash_t *settings;          /* key -> value pinned by config */
} b8_server_conf;

/* What the running process knows: set in post_config (inherited by the
 * children and the worker across fork) and in child_init. */
typedef struct {
    b8_server_conf *conf;
    b8_tmpl_set *templates;
    b8_store *store;               /* this process's connections */
    apr_file_t *wake_read;         /* handlers write a byte to wake the worker */
    apr_file_t *wake_write;
    const char *node;              /* this server: hostname + parent pid */
    volatile apr_uint32_t *settings_gen; /* shared memory: bumped by every save here */
    b8_settings_cache *settings;   /* this child's snapshot (child_init) */
    server_rec *server;
} b8_process;

extern b8_process b8_proc;

/* mod_blu8x8_worker.c */
apr_status_t b8_worker_start(apr_pool_t *pconf, server_rec *s);
void b8_worker_wake(void);

/* mod_blu8x8_admin.c, mod_blu8x8_webhook.c, mod_blu8x8_claim.c */
int b8_admin_handler(request_rec *r);
int b8_claim_handler(request_rec *r);
int b8_click_handler(request_rec *r);   /* mod_blu8x8_click.c (issue 19) */
int b8_webhook_handler(request_rec *r);
/* mod_blu8x8_metrics.c */
int b8_metrics_handler(request_rec *r);

/* mod_blu8x8_http.c: request helpers shared by the handlers */
int b8_read_body(request_rec *r, apr_off_t limit, const char **body, apr_size_t *len);
int b8_send_json(request_rec *r, int status, const cJSON *json);
int b8_send_json_error(request_rec *r, int status, const char *message);
int b8_send_html(request_rec *r, int status, const char *html);
/* A CSV download (text/csv, attachment; filename). */
int b8_send_csv(request_rec *r, const char *filename, const char *csv);
/* A streamed CSV download: pass b8_csv_stream_write and a b8_csv_stream to
 * a core export; the headers go out with the first row, so an error before
 * it can still be answered as a page (started == 0). */
typedef struct {
    request_rec *r;
    const char *filename;
    int started;
} b8_csv_stream;
apr_status_t b8_csv_stream_write(void *baton, const char *data, apr_size_t len);
int b8_status_of(b8_errkind kind);
cJSON *b8_err_json(const b8_err *err);
b8_ctx *b8_request_ctx(request_rec *r, int *http_status);
apr_table_t *b8_parse_query(apr_pool_t *p, const char *query);
int b8_content_type_is(request_rec *r, const char *type);

#endif
