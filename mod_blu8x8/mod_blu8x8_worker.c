/* The worker supervisor, the mod_cgid way: fork one process from the
 * parent at start-up, let the parent respawn it when it dies, stop it with
 * the generation. The work itself is core (b8_worker.c). */
#include "mod_blu8x8.h"

#include "ap_listen.h"
#include "ap_mpm.h"
#include "http_core.h"
#include "mpm_common.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_strings.h>

#include "b8_log.h"
#include "b8_worker.h"

/* Exit code meaning "respawning will not help" (bad configuration). */
#define WORKER_EXIT_FATAL 3

static apr_pool_t *worker_pconf;
static server_rec *worker_server;
static volatile sig_atomic_t worker_stop;
static apr_os_file_t wake_fd = -1;

static apr_status_t fork_worker(void);

static void on_stop_signal(int sig)
{
    char b = 0;
    (void)sig;
    worker_stop = 1;
    /* Wakes the poll at once; write() is async-signal-safe. */
    if (wake_fd >= 0 && write(wake_fd, &b, 1) < 0) {
        /* nothing to do: the poll times out soon anyway */
    }
}

static void worker_maint(int reason, void *data, apr_wait_t status)
{
    apr_proc_t *proc = data;
    int mpm_state = 0;

    switch (reason) {
    case APR_OC_REASON_DEATH:
    case APR_OC_REASON_LOST:
        apr_proc_other_child_unregister(data);
        if (ap_mpm_query(AP_MPMQ_MPM_STATE, &mpm_state) == APR_SUCCESS
            && mpm_state == AP_MPMQ_STOPPING) {
            break;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_FATAL) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, worker_server,
                         "B8-0301: worker %ld cannot run (see above); not restarting it",
                         (long)proc->pid);
            break;
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, worker_server,
                     "B8-0302: worker %ld ended (%s %d); starting a new one", (long)proc->pid,
                     WIFSIGNALED(status) ? "signal" : "exit code",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        fork_worker();
        break;
    case APR_OC_REASON_RESTART:
        apr_proc_other_child_unregister(data);
        break;
    case APR_OC_REASON_UNREGISTER:
        /* Restart or stop: the generation's pool goes; so does the worker. */
        kill(proc->pid, SIGHUP);
        break;
    default:
        break;
    }
}

static void close_inherited(void)
{
    /* The worker serves no requests. */
    ap_close_listeners();
}

static int worker_child(void)
{
    apr_pool_t *p;
    b8_worker_env env;
    const char *err = NULL;
    struct sigaction sa;
    apr_os_file_t fd;
    apr_status_t rv;

    prctl(PR_SET_NAME, "blu8x8-worker", 0, 0, 0);
    /* If the parent is killed outright, do not linger as an orphan. */
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
    if (getppid() == 1) {
        return 0;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGWINCH, &sa, NULL);
    close_inherited();
    /* Whatever this process creates (SQLite's journals included) is nobody
     * else's business; httpd's own umask is the operator's. */
    umask(027);

    if (apr_os_file_get(&fd, b8_proc.wake_write) == APR_SUCCESS) {
        wake_fd = fd;
    }
    if (ap_run_drop_privileges(worker_pconf, worker_server) != OK) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, worker_server,
                     "B8-0303: worker cannot drop privileges");
        return WORKER_EXIT_FATAL;
    }
    apr_pool_create(&p, NULL);
    apr_pool_tag(p, "blu8x8-worker");
    if (b8_store_open(p, b8_proc.conf->db_driver, b8_proc.conf->db_params, 8,
                      &b8_proc.store, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, worker_server,
                     "B8-0304: worker cannot open the database: %s", err);
        apr_pool_destroy(p);
        return WORKER_EXIT_FATAL;
    }
    memset(&env, 0, sizeof(env));
    env.store = b8_proc.store;
    env.config = b8_proc.conf->settings;
    env.settings_gen = b8_proc.settings_gen;
    env.node = b8_proc.node;
    env.wake = b8_proc.wake_read;
    env.stop = &worker_stop;
    rv = b8_worker_run(p, &env);
    apr_pool_destroy(p);
    return rv == APR_SUCCESS ? 0 : 1;
}

static apr_status_t fork_worker(void)
{
    apr_proc_t *proc = apr_pcalloc(worker_pconf, sizeof(*proc));
    apr_status_t rv = apr_proc_fork(proc, worker_pconf);

    if (rv == APR_INCHILD) {
        int code = worker_child();
        /* _exit: the parent's pool cleanups must not run in this process. */
        _exit(code);
    }
    if (rv != APR_INPARENT) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, worker_server, "B8-0305: cannot fork the worker");
        return rv;
    }
    apr_pool_note_subprocess(worker_pconf, proc, APR_KILL_AFTER_TIMEOUT);
    apr_proc_other_child_register(proc, worker_maint, proc, NULL, worker_pconf);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, worker_server, "B8-0306: worker %ld started",
                 (long)proc->pid);
    return APR_SUCCESS;
}

apr_status_t b8_worker_start(apr_pool_t *pconf, server_rec *s)
{
    worker_pconf = pconf;
    worker_server = s;
    return fork_worker();
}

void b8_worker_wake(void)
{
    char b = 1;
    apr_size_t n = 1;
    /* Non-blocking: a full pipe already means "wake up". */
    if (b8_proc.wake_write) {
        apr_file_write(b8_proc.wake_write, &b, &n);
    }
}
