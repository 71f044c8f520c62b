/* mod_blu8x8: module record, directives and hooks. Handlers and the worker
 * supervisor live in mod_blu8x8_*.c; everything else is the core (b8_*.c). */
#define B8_MODULE_MAIN
#include "mod_blu8x8.h"
#include "b8_results.h"

#include "http_core.h"
#include "ap_mpm.h"
#include "unixd.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_file_info.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "b8_crypto.h"
#include "b8_http.h"
#include "b8_log.h"
#include "b8_metrics.h"
#include "b8_runtime.h"
#include "b8_settings.h"
#include "b8_store.h"
#include "b8_users.h"
#include "b8_util.h"
#include "b8_eightx8.h"

b8_process b8_proc;

/* ---------------------------------------------------------------- config */

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    b8_server_conf *c = apr_pcalloc(p, sizeof(*c));
    (void)s;
    c->max_body = B8_UNSET;
    c->worker = B8_UNSET;
    c->retry_window = B8_UNSET;
    c->admins = apr_array_make(p, 2, sizeof(const char *));
    c->settings = apr_hash_make(p);
    return c;
}

static b8_server_conf *server_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &blu8x8_module);
}

static const char *global_only(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, GLOBAL_ONLY);
}

static const char *set_database(cmd_parms *cmd, void *dc, const char *driver, const char *params)
{
    b8_server_conf *c = server_conf(cmd);
    const char *err = global_only(cmd);
    (void)dc;
    if (err) {
        return err;
    }
    if (strcmp(driver, "sqlite3") != 0 && strcmp(driver, "pgsql") != 0) {
        return apr_psprintf(cmd->pool, "%s: unsupported driver \"%s\" (use sqlite3 or pgsql)",
                            cmd->cmd->name, driver);
    }
    if (!*params) {
        return apr_psprintf(cmd->pool, "%s: the %s parameters must not be empty",
                            cmd->cmd->name, driver);
    }
    c->db_driver = driver;
    c->db_params = strcmp(driver, "sqlite3") == 0 ? ap_server_root_relative(cmd->pool, params)
                                                  : params;
    if (!c->db_params) {
        return apr_psprintf(cmd->pool, "%s: invalid path \"%s\"", cmd->cmd->name, params);
    }
    return NULL;
}

static const char *set_template_dir(cmd_parms *cmd, void *dc, const char *dir)
{
    b8_server_conf *c = server_conf(cmd);
    const char *err = global_only(cmd);
    apr_finfo_t fi;
    (void)dc;
    if (err) {
        return err;
    }
    c->template_dir = ap_server_root_relative(cmd->pool, dir);
    if (!c->template_dir || apr_stat(&fi, c->template_dir, APR_FINFO_TYPE, cmd->pool) != APR_SUCCESS
        || fi.filetype != APR_DIR) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a directory", cmd->cmd->name, dir);
    }
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dc, const char *value)
{
    b8_server_conf *c = server_conf(cmd);
    const char *err = global_only(cmd);
    char *end;
    apr_off_t n;
    (void)dc;
    if (err) {
        return err;
    }
    if (apr_strtoff(&n, value, &end, 10) != APR_SUCCESS || *end || n < 1024 || n > 64 * 1024 * 1024) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" must be a number of bytes from 1024 to 67108864",
                            cmd->cmd->name, value);
    }
    c->max_body = n;
    return NULL;
}

static const char *add_admin(cmd_parms *cmd, void *dc, const char *login)
{
    b8_server_conf *c = server_conf(cmd);
    const char *err = global_only(cmd);
    (void)dc;
    if (err) {
        return err;
    }
    /* Stored as a user: only valid UTF-8. */
    if (!*login || strlen(login) > 64 || strpbrk(login, " :\t")
        || !b8_utf8_valid(login, strlen(login))) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a valid login", cmd->cmd->name, login);
    }
    APR_ARRAY_PUSH(c->admins, const char *) = login;
    return NULL;
}

static const char *set_retry_window(cmd_parms *cmd, void *dc, const char *value)
{
    b8_server_conf *c = server_conf(cmd);
    const char *err = global_only(cmd);
    char *end = NULL;
    long n;
    (void)dc;
    if (err) {
        return err;
    }
    n = strtol(value, &end, 10);
    if (!*value || *end || n < 1 || n > 86400) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" must be a number of seconds from 1 to 86400",
                            cmd->cmd->name, value);
    }
    c->retry_window = (int)n;
    return NULL;
}

static const char *set_worker(cmd_parms *cmd, void *dc, int on)
{
    b8_server_conf *c = server_conf(cmd);
    const char *err = global_only(cmd);
    (void)dc;
    if (err) {
        return err;
    }
    c->worker = on;
    return NULL;
}

/* Every setting directive: validated by the same core check as the Settings
 * page, so a bad value stops httpd with the directive's name. */
static const char *set_setting(cmd_parms *cmd, void *dc, const char *value)
{
    b8_server_conf *c = server_conf(cmd);
    const b8_setting_def *d = cmd->info;
    const char *err = global_only(cmd), *why, *norm = NULL, *input = value;
    (void)dc;
    if (err) {
        return err;
    }
    if (d->type == B8_STYPE_SECRET) {
        input = b8_secret_resolve(cmd->pool, value, &why);
        if (!input) {
            return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, why);
        }
    }
    if (d->type == B8_STYPE_SENDERS) {
        /* Repeatable: each line adds one sender, in order. */
        const char *prev = apr_hash_get(c->settings, d->key, APR_HASH_KEY_STRING);
        if ((why = b8_setting_check(cmd->pool, d, value, &norm)) != NULL) {
            return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, why);
        }
        apr_hash_set(c->settings, d->key, APR_HASH_KEY_STRING,
                     prev ? apr_pstrcat(cmd->pool, prev, "\n", norm, NULL) : norm);
        return NULL;
    }
    if ((why = b8_setting_check(cmd->pool, d, input, &norm)) != NULL) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" %s", cmd->cmd->name,
                            d->type == B8_STYPE_SECRET ? "(secret)" : value, why);
    }
    apr_hash_set(c->settings, d->key, APR_HASH_KEY_STRING, norm);
    return NULL;
}

/* The directives of the module itself... */
static const command_rec fixed_cmds[] = {
    AP_INIT_TAKE2("Blu8x8Database", set_database, NULL, RSRC_CONF,
                  "Database: sqlite3 /path/to/file.db, or pgsql \"host=... dbname=...\""),
    AP_INIT_TAKE1("Blu8x8TemplateDir", set_template_dir, NULL, RSRC_CONF,
                  "Directory of the HTML templates"),
    AP_INIT_TAKE1("Blu8x8MaxBody", set_max_body, NULL, RSRC_CONF,
                  "Largest webhook and upload body in bytes (default 262144)"),
    AP_INIT_ITERATE("Blu8x8Admin", add_admin, NULL, RSRC_CONF,
                    "Logins that get the administrator role at start"),
    AP_INIT_FLAG("Blu8x8Worker", set_worker, NULL, RSRC_CONF,
                 "On: this server runs the background worker (default On)"),
    AP_INIT_TAKE1("Blu8x8RetryWindow", set_retry_window, NULL, RSRC_CONF,
                  "Seconds a message waits out an 8x8 outage before it fails (default 600)"),
};
#define N_FIXED_CMDS (sizeof(fixed_cmds) / sizeof(fixed_cmds[0]))

/* ...and one per setting, from the settings table, so directive, API key and
 * page can never disagree. httpd reads the command table when it adds the
 * module, so it is filled when the shared object is loaded. Sized from both
 * tables (plus the terminating entry): a new setting can never overflow it. */
static command_rec blu8x8_cmds[N_FIXED_CMDS + B8_SET__COUNT + 1];

__attribute__((constructor)) static void build_cmds(void)
{
    size_t n = 0;
    for (size_t i = 0; i < N_FIXED_CMDS; i++) {
        blu8x8_cmds[n++] = fixed_cmds[i];
    }
    for (int i = 0; i < b8_settings_count; i++) {
        const b8_setting_def *d = &b8_settings_table[i];
        command_rec cmd;
        memset(&cmd, 0, sizeof(cmd));
        cmd.name = d->directive;
        cmd.AP_TAKE1 = set_setting;
        cmd.cmd_data = (void *)d;
        cmd.req_override = RSRC_CONF;
        cmd.args_how = d->type == B8_STYPE_SENDERS ? ITERATE : TAKE1;
        cmd.errmsg = d->help;
        blu8x8_cmds[n++] = cmd;
    }
    memset(&blu8x8_cmds[n], 0, sizeof(command_rec));
}

static b8_server_conf *main_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &blu8x8_module);
}

/* ----------------------------------------------------------------- hooks */

static void log_bridge(void *baton, b8_log_level level, apr_status_t rv,
                       const char *file, int line, const char *msg)
{
    ap_log_error(file, line, APLOG_MODULE_INDEX, (int)level, rv, (server_rec *)baton, "%s", msg);
}

static void install_logging(server_rec *s)
{
    int level = ap_get_server_module_loglevel(s, APLOG_MODULE_INDEX);
    b8_log_set(log_bridge, s, level > B8_LOG_DEBUG ? B8_LOG_DEBUG : (b8_log_level)level);
}

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    b8_server_conf *c = main_conf(s);
    const char *why;
    const b8_settings *pinned = b8_settings_make(ptemp, c->settings, NULL);
    (void)pconf;
    (void)plog;
    /* Da Vinci pinned on needs the AI reply pinned on too, or an admin could
     * switch the reply off under it. */
    if (b8_setting_bool(pinned, B8_SET_DA_VINCI)
        && pinned->source[B8_SET_AI_RESPOND] != B8_SRC_CONFIG) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "B8-0001: Blu8x8DaVinci On needs "
                     "Blu8x8AIRespond On in the server config as well");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (b8_settings_check_rules(pinned, &why)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "B8-0002: Blu8x8DaVinci: %s", why);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* Applies defaults so the rest of the module never sees an unset value. */
static void apply_defaults(apr_pool_t *p, b8_server_conf *c)
{
    if (!c->db_driver) {
        c->db_driver = "sqlite3";
        c->db_params = apr_pstrcat(p, B8_DEFAULT_STATE_DIR, "/blu8x8.db", NULL);
    }
    if (!c->template_dir) {
        c->template_dir = B8_DEFAULT_TEMPLATE_DIR;
    }
    if (c->max_body == B8_UNSET) {
        c->max_body = B8_DEFAULT_MAX_BODY;
    }
    if (c->worker == B8_UNSET) {
        c->worker = 1;
    }
    if (c->retry_window == B8_UNSET) {
        c->retry_window = B8_EIGHTX8_RETRY_WINDOW_DEFAULT;
    }
}

static const char *const sqlite_suffixes[] = { "", "-wal", "-shm", "-lock", NULL };

/* Whether httpd's User (not root, who may do anything) may write (W_OK) or
 * search (X_OK) path. Running as someone else already, access() answers for
 * that user. */
static int run_user_may(const char *path, const struct stat *st, int how)
{
    uid_t uid = ap_unixd_config.user_id;
    int w = how == W_OK;

    if (geteuid() != 0) {
        return access(path, how) == 0;
    }
    if (uid == 0 || uid == (uid_t)-1) {
        return 1;   /* no User to drop to: httpd's children stay who they are */
    }
    if (st->st_uid == uid) {
        return (st->st_mode & (w ? S_IWUSR : S_IXUSR)) != 0;
    }
    if (st->st_gid == ap_unixd_config.group_id) {
        return (st->st_mode & (w ? S_IWGRP : S_IXGRP)) != 0;
    }
    return (st->st_mode & (w ? S_IWOTH : S_IXOTH)) != 0;
}

/* No group write, nothing for others: the database holds every phone number
 * and the saved secrets. A file an older version left open is closed here. */
static apr_status_t tighten(server_rec *s, const char *path, mode_t most)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        return errno == ENOENT ? APR_SUCCESS : APR_FROM_OS_ERROR(errno);
    }
    if ((st.st_mode & 07777 & ~most) && chmod(path, st.st_mode & most) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, errno, s, "B8-4002: cannot chmod %s to %04o",
                     path, (unsigned)(st.st_mode & most));
        return APR_FROM_OS_ERROR(errno);
    }
    return APR_SUCCESS;
}

/* SQLite: the directory (0750) and files (0600) belong to httpd's User, since
 * the children and the worker write them after dropping root, and to nobody
 * else. SQLite gives -wal and -shm the database file's mode, so the file is
 * made before SQLite would make it with the umask's. check: the run user must
 * be able to write them (else every write would fail later, not httpd now). */
static apr_status_t prepare_sqlite_files(apr_pool_t *p, server_rec *s, const char *path,
                                         int check)
{
    char *dir = ap_make_dirstr_parent(p, path), *made = NULL;
    apr_status_t rv;
    struct stat st;
    int fd;

    /* The highest directory that is missing: what is made here is the run
     * user's, or it could not reach its own database through 0750. */
    for (char *d = apr_pstrdup(p, dir); stat(d, &st) != 0 && errno == ENOENT;) {
        char *slash;
        apr_size_t n = strlen(d);
        while (n > 1 && d[n - 1] == '/') {
            d[--n] = '\0';
        }
        made = apr_pstrdup(p, d);
        if (!(slash = strrchr(d, '/')) || slash == d) {
            break;
        }
        *slash = '\0';
    }
    rv = apr_dir_make_recursive(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE
                                     | APR_FPROT_GREAD | APR_FPROT_GEXECUTE, p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "B8-0003: cannot create the database "
                     "directory %s", dir);
        return rv;
    }
    /* Each new directory from made down to dir: given to the run user. */
    for (apr_size_t n = made ? strlen(made) : 0; made && geteuid() == 0;) {
        const char *sub = apr_pstrndup(p, dir, n);
        if (chown(sub, ap_unixd_config.user_id, ap_unixd_config.group_id) != 0) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, errno, s, "B8-0004: cannot chown %s", sub);
            return APR_FROM_OS_ERROR(errno);
        }
        while (dir[n] == '/') {
            n++;
        }
        if (!dir[n]) {
            break;
        }
        n += strcspn(dir + n, "/");
    }
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR)) >= 0) {
        close(fd);
    }
    else if (errno != EEXIST) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, errno, s, "B8-4003: cannot create the database "
                     "file %s", path);
        return APR_FROM_OS_ERROR(errno);
    }
    if (geteuid() == 0) {
        if (chown(dir, ap_unixd_config.user_id, ap_unixd_config.group_id) != 0) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, errno, s, "B8-4501: cannot chown %s", dir);
            return APR_FROM_OS_ERROR(errno);
        }
        for (int i = 0; sqlite_suffixes[i]; i++) {
            const char *f = apr_pstrcat(p, path, sqlite_suffixes[i], NULL);
            if (chown(f, ap_unixd_config.user_id, ap_unixd_config.group_id) != 0 && errno != ENOENT) {
                ap_log_error(APLOG_MARK, APLOG_EMERG, errno, s, "B8-0005: cannot chown %s", f);
                return APR_FROM_OS_ERROR(errno);
            }
        }
    }
    /* As root the directory was just given to the run user: it is the
     * database's. Otherwise it may be the user's own (a home directory). */
    if (geteuid() == 0 && (rv = tighten(s, dir, 0750)) != APR_SUCCESS) {
        return rv;
    }
    for (int i = 0; sqlite_suffixes[i]; i++) {
        const char *f = apr_pstrcat(p, path, sqlite_suffixes[i], NULL);
        if ((rv = tighten(s, f, 0640)) != APR_SUCCESS) {
            return rv;
        }
        if (check && stat(f, &st) == 0 && !run_user_may(f, &st, W_OK)) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "B8-4004: Blu8x8Database: httpd's User "
                         "(uid %ld) cannot write %s (mode %04o, owner %ld); give it to that user",
                         (long)ap_unixd_config.user_id, f, (unsigned)(st.st_mode & 07777),
                         (long)st.st_uid);
            return APR_EACCES;
        }
    }
    if (check) {
        if (stat(dir, &st) != 0 || !run_user_may(dir, &st, W_OK)) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "B8-4005: Blu8x8Database: httpd's User "
                         "(uid %ld) cannot write the directory %s (SQLite makes its -wal and "
                         "-shm files there)", (long)ap_unixd_config.user_id, dir);
            return APR_EACCES;
        }
        /* Every directory above must let that user through. */
        for (char *d = apr_pstrdup(p, dir), *slash; (slash = strrchr(d, '/')) != NULL;) {
            *slash = '\0';
            if (*d && (stat(d, &st) != 0 || !run_user_may(d, &st, X_OK))) {
                ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "B8-4006: Blu8x8Database: httpd's "
                             "User (uid %ld) cannot reach %s through %s (mode %04o)",
                             (long)ap_unixd_config.user_id, path, d,
                             (unsigned)(st.st_mode & 07777));
                return APR_EACCES;
            }
        }
    }
    return APR_SUCCESS;
}

/* The webhook's Authorization check, said once at start when it is off or
 * refuses everything (a setting saved on the Settings page counts). */
static void warn_webhook_auth(apr_pool_t *p, server_rec *s, b8_server_conf *c, b8_db *db)
{
    const b8_settings *now = NULL;
    const char *want;

    if (b8_settings_load(db, p, c->settings, &now) != APR_SUCCESS) {
        now = b8_settings_make(p, c->settings, NULL);
    }
    switch (b8_webhook_auth_mode(now, &want)) {
    case B8_HOOK_CLOSED:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "B8-4000: Blu8x8WebhookAuthorization is "
                     "not set: every POST to /viber/status answers 401 until it names the "
                     "Authorization header 8x8 sends");
        break;
    case B8_HOOK_OPEN:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "B8-4001: Blu8x8WebhookAuthorization none: "
                     "/viber/status accepts events without an Authorization header, so anyone "
                     "who reaches it can fake receipts and inbound messages");
        break;
    default:
        break;
    }
}

/* Creates or migrates the schema, bootstraps the admins and the server
 * secret, then closes: children and the worker open their own handles. */
static int prepare_database(apr_pool_t *pconf, server_rec *s, b8_server_conf *c)
{
    apr_pool_t *p;
    b8_store *st;
    b8_db *db;
    const char *err = NULL, *secret;

    apr_pool_create(&p, pconf);
    if (strcmp(c->db_driver, "sqlite3") == 0
        && prepare_sqlite_files(p, s, c->db_params, 1) != APR_SUCCESS) {
        apr_pool_destroy(p);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (b8_store_open(p, c->db_driver, c->db_params, 1, &st, &err) != APR_SUCCESS
        || b8_store_migrate(st, p, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "B8-0006: Blu8x8Database %s: %s",
                     c->db_driver, err ? err : "cannot open");
        apr_pool_destroy(p);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (b8_db_get(st, p, &db) != APR_SUCCESS || b8_server_secret(db, p, &secret) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "B8-0007: cannot initialise the database");
        apr_pool_destroy(p);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    warn_webhook_auth(p, s, c, db);
    for (int i = 0; i < c->admins->nelts; i++) {
        const char *login = APR_ARRAY_IDX(c->admins, i, const char *);
        if (b8_users_bootstrap_admin(db, p, login) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "B8-0008: cannot create admin %s: %s",
                         login, b8_db_error(db));
            apr_pool_destroy(p);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    apr_pool_destroy(p);   /* closes the connection before the files are chowned */
    if (strcmp(c->db_driver, "sqlite3") == 0) {
        apr_pool_create(&p, pconf);
        if (prepare_sqlite_files(p, s, c->db_params, 0) != APR_SUCCESS) {
            apr_pool_destroy(p);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_pool_destroy(p);
    }
    return OK;
}

/* The per-server counters (b8_metrics.h): one anonymous shared block made
 * by the parent before it forks the children and the worker, kept in the
 * process pool so a graceful restart keeps counting where it was. */
static int attach_metrics(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    void *mem = NULL;
    apr_shm_t *shm;
    apr_status_t rv;

    apr_pool_userdata_get(&mem, "blu8x8-metrics", pp);
    if (!mem) {
        if ((rv = apr_shm_create(&shm, b8_metrics_size(), NULL, pp)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "B8-4603: cannot create the "
                         "shared memory of the metrics");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        mem = apr_shm_baseaddr_get(shm);
        memset(mem, 0, b8_metrics_size());
        apr_pool_userdata_set(mem, "blu8x8-metrics", apr_pool_cleanup_null, pp);
    }
    b8_metrics_attach(mem);
    return OK;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    b8_server_conf *c = main_conf(s);
    const char *err = NULL, *nonce;
    char host[APRMAXHOSTLEN + 1];
    int rc;
    (void)plog;
    (void)ptemp;

    /* The first pass only checks the configuration; act on the real one. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    install_logging(s);
    apply_defaults(pconf, c);
    memset(&b8_proc, 0, sizeof(b8_proc));
    b8_proc.conf = c;
    b8_proc.server = s;
    if (apr_gethostname(host, sizeof(host), pconf) != APR_SUCCESS) {
        apr_cpystrn(host, "localhost", sizeof(host));
    }
    /* This server, in the heartbeat and the sender lease: the random part
     * tells apart servers that share a hostname and a pid (containers). */
    nonce = b8_random_hex(pconf, 4);
    b8_proc.node = apr_psprintf(pconf, "%s:%ld:%s", host, (long)getpid(), nonce ? nonce : "0");

    if (b8_tmpl_load_dir(pconf, c->template_dir, &b8_proc.templates, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "B8-0009: Blu8x8TemplateDir %s: %s",
                     c->template_dir, err ? err : "cannot load templates");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((rc = attach_metrics(s)) != OK || (rc = prepare_database(pconf, s, c)) != OK) {
        return rc;
    }
    if (apr_file_pipe_create_ex(&b8_proc.wake_read, &b8_proc.wake_write,
                                APR_FULL_NONBLOCK, pconf) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "B8-0010: cannot create the wake-up pipe");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    {
        /* Every child and the worker see a save on this server at once. */
        apr_shm_t *shm;
        if (apr_shm_create(&shm, sizeof(apr_uint32_t), NULL, pconf) == APR_SUCCESS) {
            b8_proc.settings_gen = apr_shm_baseaddr_get(shm);
            *b8_proc.settings_gen = 0;
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "B8-4450: no shared memory for the "
                         "settings version: other children see a save within %d ms",
                         (int)apr_time_as_msec(B8_SETTINGS_RECHECK));
        }
    }
    /* Before the fork: the worker's senders inherit it. */
    b8_eightx8_set_retry_window(apr_time_from_sec(c->retry_window));
    if (c->worker && b8_worker_start(pconf, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "B8-0011: mod_blu8x8 %s ready (%s database, "
                 "worker %s)", B8_VERSION, c->db_driver, c->worker ? "on" : "off");
    return OK;
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    int threads = 0;
    const char *err = NULL;

    if (!b8_proc.conf) {
        return;
    }
    install_logging(s);
    /* libcurl once per process, before the threads (Send Test uses it). */
    b8_http_global_init();
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1) {
        threads = 1;
    }
    if (b8_store_open(pchild, b8_proc.conf->db_driver, b8_proc.conf->db_params,
                      threads, &b8_proc.store, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "B8-0012: cannot open the database: %s", err);
        b8_proc.store = NULL;
    }
    if (b8_settings_cache_create(pchild, b8_proc.conf->settings, b8_proc.settings_gen,
                                 &b8_proc.settings) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "B8-4451: cannot create the settings cache");
        b8_proc.store = NULL;
    }
    /* Issue 19: clicks are written by a thread of the child, in batches. */
    if (b8_proc.store && b8_clicks_start(pchild, b8_proc.store) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "B8-4904: no click recorder: clicks are "
                     "written as they come");
    }
    /* Children only ever write to the wake pipe. */
    apr_file_close(b8_proc.wake_read);
    b8_proc.wake_read = NULL;
}

static int dispatch(request_rec *r)
{
    if (!r->handler) {
        return DECLINED;
    }
    if (strcmp(r->handler, "blu8x8-admin") == 0) {
        return b8_admin_handler(r);
    }
    if (strcmp(r->handler, "blu8x8-claim") == 0) {
        return b8_claim_handler(r);
    }
    if (strcmp(r->handler, "blu8x8-click") == 0) {
        return b8_click_handler(r);
    }
    if (strcmp(r->handler, "blu8x8-webhook") == 0) {
        return b8_webhook_handler(r);
    }
    if (strcmp(r->handler, "blu8x8-metrics") == 0) {
        return b8_metrics_handler(r);
    }
    return DECLINED;
}

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(dispatch, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(blu8x8) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    create_server_conf,
    NULL,
    blu8x8_cmds,
    register_hooks,
    0
};
