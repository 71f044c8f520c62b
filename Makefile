# mod_blu8x8 — build, run and test on Debian 12.
#   make            build build/mod_blu8x8.so
#   make run        install what is missing, build, start httpd on 127.0.0.1:$(PORT)
#   make stop       stop it
#   make test       install what is missing, build, run every test (SANITIZE=1: ASan+UBSan):
#                   the integration suite on SQLite, then its SQL files on PostgreSQL
#   make integration DB=pgsql   the integration tests on a throwaway PostgreSQL cluster
#   make bench      benchmarks under tests/bench (figures printed)
#   make fuzz       libFuzzer targets under tests/fuzz, FUZZ_SECONDS each (ASan+UBSan)
#   make install    apxs -i, templates and static files under /usr/share/apache2/blu8x8

PORT      ?= 8080
SANITIZE  ?= 0
ROOT      := $(abspath .)
BUILD     ?= $(ROOT)/build
# Sanitizer builds live apart, so switching never mixes objects.
OUT       := $(if $(filter 1,$(SANITIZE)),$(BUILD)/sanitize,$(BUILD))
VAR       := $(ROOT)/var
PYTHON    := /usr/bin/python3
APXS      := /usr/bin/apxs

RUN_PKGS  := apache2 apache2-dev apache2-utils libapr1-dev libaprutil1-dev libcurl4-openssl-dev \
             libcjson-dev libssl-dev libaprutil1-dbd-sqlite3 libaprutil1-dbd-pgsql libpq-dev gcc \
             make tzdata
TEST_PKGS := python3 python3-pytest chromium chromium-driver python3-selenium gdb \
             postgresql python3-psycopg2 python3-jsonschema libsqlite3-dev \
             python3-prometheus-client sqlite3
BENCH_PKGS := wrk
FUZZ_PKGS := clang libclang-rt-14-dev

CORE_SRC  := $(wildcard mod_blu8x8/b8_*.c)
GLUE_SRC  := $(wildcard mod_blu8x8/mod_blu8x8*.c)
HEADERS   := $(wildcard mod_blu8x8/*.h)
CORE_OBJ  := $(patsubst mod_blu8x8/%.c,$(OUT)/core/%.o,$(CORE_SRC))
GLUE_OBJ  := $(patsubst mod_blu8x8/%.c,$(OUT)/glue/%.o,$(GLUE_SRC))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(OUT)/unit/%,$(UNIT_SRC))
# DB=pgsql: integration tests on a PostgreSQL cluster that tests/pgcluster.sh
# starts in a temp dir and stops afterwards. On PostgreSQL, make test runs the
# files that touch SQL (not the pure-HTTP ones, nor the browser tests).
DB        ?= sqlite3
PG_TESTS  := $(filter-out tests/integration/test_standins.py tests/integration/test_docs.py,\
             $(sort $(wildcard tests/integration/test_*.py)))

WARN      := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2
OPT       := -O2 -g
ifeq ($(SANITIZE),1)
OPT       := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
endif
APR_CFLAGS = $(shell apr-1-config --cppflags --includes 2>/dev/null) $(shell apu-1-config --includes 2>/dev/null) \
             -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
CFLAGS_CORE = -std=gnu11 -fPIC -fvisibility=hidden $(OPT) $(WARN) -Werror $(APR_CFLAGS)
CFLAGS_GLUE = -std=gnu11 -fPIC -fvisibility=hidden $(OPT) $(WARN) -Werror $(shell $(APXS) -q CFLAGS 2>/dev/null) \
              -I$(shell $(APXS) -q INCLUDEDIR 2>/dev/null) $(APR_CFLAGS) -Imod_blu8x8
LIBS      := -lcurl -lcjson -lcrypto -lpq
APR_LIBS   = $(shell apu-1-config --link-ld 2>/dev/null) $(shell apr-1-config --link-ld 2>/dev/null)
MODULE    := $(OUT)/mod_blu8x8.so

.PHONY: all deps test-deps run stop test unit integration bench fuzz install clean check-layering \
        check-log-tags

all: $(MODULE)

# ---------------------------------------------------------------- packages
# Installs only what is missing, so a second run costs nothing.
define need_pkgs
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root (or sudo) to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps:
	$(call need_pkgs,$(RUN_PKGS))

test-deps: deps
	$(call need_pkgs,$(TEST_PKGS))

# ------------------------------------------------------------------- build
$(OUT)/core/%.o: mod_blu8x8/%.c $(HEADERS) | deps
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_CORE) -c $< -o $@

$(OUT)/libb8core.a: $(CORE_OBJ)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^

# Glue: compiled with httpd's flags (apxs -q), linked into the module by apxs.
$(OUT)/glue/%.o: mod_blu8x8/%.c $(HEADERS) | deps check-layering check-log-tags
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_GLUE) -c $< -o $@

$(MODULE): $(GLUE_OBJ) $(OUT)/libb8core.a
	@mkdir -p $(OUT)/apxs
	@echo "  APXS    $@"
	@cd $(OUT)/apxs && $(APXS) -c -o mod_blu8x8.la \
	  $(GLUE_OBJ) $(OUT)/libb8core.a $(LIBS) >$(OUT)/apxs.log 2>&1 || { cat $(OUT)/apxs.log; exit 1; }
	@cp $(OUT)/apxs/.libs/mod_blu8x8.so $@.tmp
	@# httpd needs only the module record: anything else exported could clash
	@# with another module's symbol of the same name (ASan adds its ODR marker).
	@extra=$$(nm -D --defined-only $@.tmp | awk '$$3 != "blu8x8_module" && $$3 !~ /^__odr_asan/ {print $$3}'); \
	if [ -n "$$extra" ]; then echo "$@ exports more than blu8x8_module:" $$extra >&2; \
	  rm -f $@.tmp; exit 1; fi
	@mv -f $@.tmp $@   # rename: a running httpd maps the old file

# Core files must not know httpd (DESIGN.md: two rooms, one library).
check-layering:
	@if grep -lE '#include +"(httpd|http_[a-z_]+|ap_[a-z_]+|util_[a-z_]+|mpm_common|unixd)\.h"' $(CORE_SRC) mod_blu8x8/b8_*.h; then \
	  echo "core files above include httpd headers" >&2; exit 1; fi

# A log tag names one log site: the tests allow expected errors by tag, and
# an operator greps the source for it. A tag in a string literal counts.
check-log-tags:
	@dup=$$(grep -ohE '"B8-[0-9]{4}' mod_blu8x8/*.c | sort | uniq -d | tr -d '"'); \
	if [ -n "$$dup" ]; then echo "log tags used at more than one site:" $$dup >&2; \
	  grep -nE "\"($$(echo $$dup | tr ' ' '|'))" mod_blu8x8/*.c >&2; exit 1; fi

# ------------------------------------------------------------------- tests
$(OUT)/unit/%: tests/unit/%.c tests/unit/b8_test.h tests/unit/b8_test_wire.h $(OUT)/libb8core.a
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) -std=gnu11 $(OPT) $(WARN) -Werror $(APR_CFLAGS) -Imod_blu8x8 -Itests/unit $< \
	  -o $@ $(OUT)/libb8core.a $(APR_LIBS) $(LIBS) $(if $(filter test_sql,$*),-lsqlite3)

unit: $(UNIT_BIN)
	@# use_sigaltstack=0: gcc 12's ASan misreports its own signal-stack teardown at thread exit.
	@fail=0; for t in $(UNIT_BIN); do ASAN_OPTIONS=use_sigaltstack=0 $$t || fail=1; done; exit $$fail

integration: $(MODULE)
	B8_MODULE=$(MODULE) B8_SANITIZE=$(SANITIZE) $(if $(filter pgsql,$(DB)),sh tests/pgcluster.sh run) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider \
	  $(if $(PYTEST_ARGS),$(PYTEST_ARGS),tests/integration tests/browser)

test: test-deps
	$(MAKE) --no-print-directory all SANITIZE=$(SANITIZE)
	$(MAKE) --no-print-directory unit SANITIZE=$(SANITIZE)
	$(MAKE) --no-print-directory integration SANITIZE=$(SANITIZE) DB=sqlite3
	$(MAKE) --no-print-directory integration SANITIZE=$(SANITIZE) DB=pgsql PYTEST_ARGS="$(PG_TESTS)"

# --------------------------------------------------------------------- run
# Everything under var/ stays the run user's and root's: umask 027 for what
# httpd writes there (logs, pid file), conf/prepare-dev-var.sh for the rest.
run: deps $(MODULE)
	@sh conf/prepare-dev-var.sh $(VAR)
	@umask 027; sh conf/gen-dev-conf.sh $(VAR) $(PORT) $(MODULE) $(ROOT) > $(VAR)/httpd.conf
	@umask 027; if [ -f $(VAR)/httpd.pid ] && kill -0 "$$(cat $(VAR)/httpd.pid)" 2>/dev/null; then \
	  apache2 -f $(VAR)/httpd.conf -k graceful; else apache2 -f $(VAR)/httpd.conf -k start; fi
	@for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null http://127.0.0.1:$(PORT)/ && break; sleep 0.3; done
	@chmod 640 $(VAR)/httpd.pid 2>/dev/null || true   # httpd writes it 0644 whatever the umask
	@echo ""
	@echo "  mod_blu8x8 is running: http://127.0.0.1:$(PORT)/blu8x8/"
	@echo "  login: admin    password: $$(cat $(VAR)/admin-password)"
	@echo "  8x8 webhook: URL <public address>/viber/status, Authorization (httpAuthorization):"
	@echo "    $$(cat $(VAR)/webhook-authorization)"
	@echo "  metrics (Prometheus, this host only): http://127.0.0.1:$(PORT)/blu8x8-metrics"
	@echo "  logs:  $(VAR)/error.log    stop with: make stop"
	@echo ""

stop:
	@if [ -f $(VAR)/httpd.pid ] && kill -0 "$$(cat $(VAR)/httpd.pid)" 2>/dev/null; then \
	  apache2 -f $(VAR)/httpd.conf -k stop && echo "stopped"; else echo "not running"; fi

# Benchmarks print figures (and ratios against a baseline of the same run).
bench: test-deps $(MODULE)
	$(call need_pkgs,$(BENCH_PKGS))
	@for b in tests/bench/bench_*.py; do echo "== $$b"; \
	  B8_MODULE=$(MODULE) $(PYTHON) $$b || exit 1; done
	@echo "== tests/bench/bench_webhook.py on PostgreSQL (durable settings)"
	@B8_MODULE=$(MODULE) B8_PG_DURABLE=1 sh tests/pgcluster.sh run $(PYTHON) tests/bench/bench_webhook.py

# -------------------------------------------------------------------- fuzz
# libFuzzer with ASan+UBSan: the core is rebuilt with clang's coverage
# instrumentation; the seed corpus (tests/fuzz/corpus/<target>) stays
# read-only, new inputs go to $(BUILD)/fuzz/corpus-<target>.
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_CORE  := $(patsubst mod_blu8x8/%.c,$(BUILD)/fuzz/core/%.o,$(CORE_SRC))

$(BUILD)/fuzz/core/%.o: mod_blu8x8/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address,undefined $(APR_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_CORE)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined $(APR_CFLAGS) -Imod_blu8x8 $< \
	  $(FUZZ_CORE) -o $@ $(APR_LIBS) $(LIBS)

fuzz:
	$(call need_pkgs,$(RUN_PKGS) $(FUZZ_PKGS))
	$(MAKE) --no-print-directory $(BUILD)/fuzz/fuzz_webhook
	@mkdir -p $(BUILD)/fuzz/corpus-webhook
	cd $(BUILD)/fuzz && ./fuzz_webhook -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  -dict=$(ROOT)/tests/fuzz/webhook.dict corpus-webhook $(ROOT)/tests/fuzz/corpus/webhook

# ------------------------------------------------------------------ others
install: $(MODULE)
	$(APXS) -i -n blu8x8 $(MODULE)
	install -d /usr/share/apache2/blu8x8/templates /usr/share/apache2/blu8x8/htdocs
	install -m 644 templates/*.html /usr/share/apache2/blu8x8/templates/
	install -m 644 htdocs/* /usr/share/apache2/blu8x8/htdocs/
	install -m 644 conf/blu8x8.conf /usr/share/apache2/blu8x8/blu8x8.conf

clean:
	rm -rf build
