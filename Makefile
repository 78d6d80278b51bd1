# ngx_ws: build, run the demo, test, benchmark.
#
#   make run     install what is missing, build, serve the demo on :8080
#   make multi-host  the demo on two hosts (:8081, :8082) through Redis
#   make test    install what tests need, build, run every test
#   make asan    the module built with ASan/UBSan, the nginx tests run under it
#   make bench   the side-by-side benchmark against Node socket.io
#   make deb     the Debian package, build/deb/libnginx-mod-http-ws_*.deb

SHELL      := /bin/bash
.SHELLFLAGS := -eo pipefail -c

ROOT       := $(CURDIR)
BUILD      ?= $(ROOT)/build
NGINX_SRC  ?= /usr/share/nginx/src
NGINX_BIN  ?= /usr/sbin/nginx
MODULE     := $(BUILD)/nginx/ngx_ws_module.so
ASAN_BUILD := $(BUILD)/asan
ASAN_MODULE := $(ASAN_BUILD)/ngx_ws_module.so

CC         ?= cc
CODEC_SRCS := src/ngx_ws_frame.c src/ngx_ws_eio.c src/ngx_ws_sio.c \
              src/ngx_ws_json.c src/ngx_ws_op.c src/ngx_ws_adapter.c \
              src/ngx_ws_mp.c
CODEC_LIBS := -lmsgpackc
MODULE_SRCS := config ngx_ws_module.c $(wildcard src/*.c src/*.h)
UNIT_TESTS := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(wildcard t/unit/test_*.c))
FUZZERS    := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 10
FUZZ_RUNS    ?= 10000000
FUZZ_LONG_SECONDS ?= 3600

# The Debian package (make deb), named after NGX_WS_VERSION.
DEB_VERSION := $(shell sed -n 's/.*define NGX_WS_VERSION *"\(.*\)"/\1/p' \
                   src/ngx_ws.h)
DEB_ARCH    := $(shell dpkg --print-architecture)
DEB_DIR     := $(BUILD)/deb
DEB         := $(DEB_DIR)/libnginx-mod-http-ws_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_TREE    := config ngx_ws_module.c src debian LICENSE README.md

# Debian packages: what building needs, and what the tests add on top.
BUILD_PKGS := nginx nginx-dev gcc make libhiredis-dev libcjson-dev \
              libmsgpack-dev libssl-dev libpcre2-dev zlib1g-dev
DEB_PKGS   := $(BUILD_PKGS) build-essential debhelper dpkg-dev lintian
TEST_PKGS  := $(DEB_PKGS) perl curl openssl clang \
              libclang-rt-14-dev nodejs chromium libio-socket-ssl-perl \
              redis-server debootstrap gettext-base iproute2 prometheus

.PHONY: all build run test unit prove e2e fuzz fuzz-long asan bench deps \
        test-deps clean protocol-suite deb deb-install

all: build

build: $(MODULE)

# ---------------------------------------------------------------- installs

# Install only what is missing; apt-get update runs once, and only when
# something has to be installed.
define apt_install
	@missing=""; for p in $(1); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	        | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	        $$missing >/dev/null; \
	fi
endef

deps:
	$(call apt_install,$(BUILD_PKGS))

# Debian 12 ships npm as a separate package; machines with Node's own npm
# bundled conflict with it, so npm is installed only when it is missing.
# A node_modules that is a symlink (a worktree sharing another checkout's
# install) is left alone: npm ci would empty the directory it points to.
test-deps: deps
	$(call apt_install,$(TEST_PKGS))
	@command -v npm >/dev/null || { \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	@cd t/e2e && if [ ! -d node_modules ] || { [ ! -L node_modules ] && \
	    [ package-lock.json -nt node_modules ]; }; then \
	    npm ci --no-audit --no-fund --loglevel=error; fi

# ---------------------------------------------------------------- module

# Debian's own recipe for module packages (nginx-dev ships headers, configure
# and conf_flags, no .c files): configure with Debian's flags, build modules.
define configure_module
	mkdir -p $(1)
	cd $(NGINX_SRC) && \
	if [ -f conf_flags ]; then . ./conf_flags; \
	else NGX_CONF_FLAGS=(--with-compat --with-http_ssl_module \
	                     --with-http_v2_module); fi && \
	configure=./configure && { [ -x configure ] || configure=auto/configure; } && \
	NGX_WS_EXTRA_CFLAGS="$(2)" $$configure \
	    --with-cc-opt="-g -O2 -fstack-protector-strong -Wformat \
	                   -Werror=format-security -fPIC -Wdate-time \
	                   -D_FORTIFY_SOURCE=2" \
	    --with-ld-opt="-Wl,-z,relro -Wl,-z,now -fPIC $(3)" \
	    "$${NGX_CONF_FLAGS[@]}" \
	    --add-dynamic-module=$(ROOT) --builddir=$(1) > $(1)/configure.log
endef

$(BUILD)/nginx/Makefile: config
	@$(MAKE) -s deps
	$(call configure_module,$(BUILD)/nginx,,)

$(MODULE): $(BUILD)/nginx/Makefile $(MODULE_SRCS)
	$(MAKE) -s -f $(BUILD)/nginx/Makefile -C $(NGINX_SRC) modules

$(ASAN_BUILD)/Makefile: config
	@$(MAKE) -s deps
	$(call configure_module,$(ASAN_BUILD),-fsanitize=address$(,)undefined \
	    -fno-omit-frame-pointer,-fsanitize=address$(,)undefined)

$(ASAN_MODULE): $(ASAN_BUILD)/Makefile $(MODULE_SRCS)
	$(MAKE) -s -f $(ASAN_BUILD)/Makefile -C $(NGINX_SRC) modules

, := ,

# ---------------------------------------------------------------- demo

run: deps build
	@command -v npm >/dev/null || { \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	@cd t/e2e && [ -d node_modules ] || \
	    npm ci --no-audit --no-fund --loglevel=error
	@conf-examples/run-demo.sh "$(NGINX_BIN)" "$(MODULE)" "$(BUILD)/demo"

# socket.io's v5 protocol test suite expects a server on localhost:3000:
# nginx with the module and conf-examples/protocol-suite/app.js (the
# hooks), in the foreground until Ctrl-C.  WORKERS=N: worker_processes
# (1 by default).
protocol-suite: deps build
	@command -v node >/dev/null || { \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null; }
	@conf-examples/protocol-suite/run.sh "$(NGINX_BIN)" "$(MODULE)" \
	    "$(BUILD)/protocol-suite" "$(or $(WORKERS),1)"

# Two nginx hosts (127.0.0.1:8081 and :8082, WORKERS=N workers each, 2 by
# default) sharing broadcasts through a redis-server of their own on
# 127.0.0.1:6380 (data in build/multi-host/redis; never the system's
# service on 6379), serving the chat demo with its app on :8091, in the
# foreground until Ctrl-C (conf-examples/multi-host/run.sh).
.PHONY: multi-host
multi-host: deps build
	$(call apt_install,redis-server)
	@command -v node >/dev/null || { \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null; }
	@command -v npm >/dev/null || { \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	@cd t/e2e && [ -d node_modules ] || \
	    npm ci --no-audit --no-fund --loglevel=error
	@conf-examples/multi-host/run.sh "$(NGINX_BIN)" "$(MODULE)" \
	    "$(BUILD)/multi-host" "$(or $(WORKERS),2)"

# ---------------------------------------------------------------- tests

# Every suite runs whatever the others did; the summary gives each one's
# result and wall time, and make test fails if any of them failed.
TEST_SUITES := unit prove e2e fuzz asan deb-install

test: test-deps build
	@MAKE="$(MAKE)" t/run-suites.sh $(TEST_SUITES)

$(BUILD)/unit/%: t/unit/%.c t/unit/unit.h $(CODEC_SRCS) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -Isrc -o $@ $< $(CODEC_SRCS) $(CODEC_LIBS)

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

prove: build
	NGX_WS_MODULE=$(MODULE) NGX_WS_NGINX=$(NGINX_BIN) \
	    prove -I t/lib t/

# Node 18 (Debian 12's own) has no --test-concurrency; each test file has
# its own ports and prefix, so files may run side by side there.
e2e: build
	NGX_WS_MODULE=$(MODULE) NGX_WS_NGINX=$(NGINX_BIN) \
	    node --test $$(node --help | grep -q -- --test-concurrency \
	                   && echo --test-concurrency=1) t/e2e/

# libFuzzer targets: every fuzz/fuzz_*.c over the codecs (and cJSON), each
# with its dictionary fuzz/<target>.dict and seeds fuzz/corpus/<target>;
# new inputs go to the scratch corpus build/corpus/<target>.  UBSan aborts
# so that any report fails the run.
$(BUILD)/fuzz/%: fuzz/%.c $(CODEC_SRCS) $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -Isrc -o $@ $< $(CODEC_SRCS) -lcjson \
	    $(CODEC_LIBS)

# $(call fuzz_args,target): dictionary, artifacts, scratch corpus, seeds
fuzz_args = -max_len=4096 -timeout=10 -print_final_stats=1 \
    $$([ -f fuzz/$(1).dict ] && echo -dict=fuzz/$(1).dict) \
    -artifact_prefix=$(BUILD)/fuzz/artifacts/$(1)/ \
    $(BUILD)/corpus/$(1) $$([ -d fuzz/corpus/$(1) ] && echo fuzz/corpus/$(1))

# $(call fuzz_check,target,log): no artifact, no sanitizer report
fuzz_check = ! grep -qE 'ERROR: [A-Za-z]+Sanitizer|runtime error:' $(2) \
    && [ -z "$$(ls -A $(BUILD)/fuzz/artifacts/$(1))" ] \
    || { tail -n 40 $(2); ls -l $(BUILD)/fuzz/artifacts/$(1); exit 1; }

fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do \
	    n=$$(basename $$f); \
	    echo "== $$n ($(FUZZ_SECONDS)s)"; \
	    rm -rf $(BUILD)/fuzz/artifacts/$$n; \
	    mkdir -p $(BUILD)/corpus/$$n $(BUILD)/fuzz/artifacts/$$n; \
	    $$f -max_total_time=$(FUZZ_SECONDS) $(call fuzz_args,$$n) \
	        > $(BUILD)/fuzz/$$n.log 2>&1 \
	        || { tail -n 40 $(BUILD)/fuzz/$$n.log; exit 1; }; \
	    $(call fuzz_check,$$n,$(BUILD)/fuzz/$$n.log); \
	    { grep -E '^#[0-9]+' $(BUILD)/fuzz/$$n.log || true; } | tail -n 1; \
	done

# Not part of make test: FUZZ_RUNS executions per target (FUZZ_LONG_SECONDS
# at most), one target at a time, then what adds coverage is merged into
# fuzz/corpus/<target> (-merge=1 keeps the seeds, adds a minimal set).
fuzz-long: $(FUZZERS)
	@for f in $(FUZZERS); do \
	    n=$$(basename $$f); log=$(BUILD)/fuzz/$$n.long.log; \
	    echo "== $$n ($(FUZZ_RUNS) runs, $(FUZZ_LONG_SECONDS)s at most)"; \
	    rm -rf $(BUILD)/fuzz/artifacts/$$n; \
	    mkdir -p $(BUILD)/corpus/$$n $(BUILD)/fuzz/artifacts/$$n \
	             fuzz/corpus/$$n; \
	    t0=$$(date +%s); rc=0; \
	    $$f -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_LONG_SECONDS) \
	        $(call fuzz_args,$$n) > $$log 2>&1 || rc=$$?; \
	    t1=$$(date +%s); \
	    execs=$$(sed -n 's/^stat::number_of_executed_units: //p' $$log); \
	    last=$$(grep -E '^#[0-9]+' $$log | tail -n 1 || true); \
	    crashes=$$(ls -A $(BUILD)/fuzz/artifacts/$$n | wc -l); \
	    echo "$$n: execs $${execs:-?} $$(echo "$$last" \
	        | grep -oE 'cov: [0-9]+ ft: [0-9]+') crashes $$crashes" \
	        "time $$((t1 - t0))s"; \
	    [ $$rc -eq 0 ] || { tail -n 40 $$log; \
	        ls -l $(BUILD)/fuzz/artifacts/$$n; exit 1; }; \
	    $(call fuzz_check,$$n,$$log); \
	    [ "$${execs:-0}" -ge $(FUZZ_RUNS) ] \
	        || echo "$$n: WARNING: stopped by time after $$execs runs"; \
	    $$f -merge=1 -max_len=4096 -timeout=10 fuzz/corpus/$$n \
	        $(BUILD)/corpus/$$n > $(BUILD)/fuzz/$$n.merge.log 2>&1 \
	        || { tail -n 40 $(BUILD)/fuzz/$$n.merge.log; exit 1; }; \
	    echo "$$n: fuzz/corpus/$$n $$(ls fuzz/corpus/$$n | wc -l) files," \
	        "$$(du -sb fuzz/corpus/$$n | cut -f1) bytes"; \
	done
	@echo "fuzz/corpus: $$(du -sb fuzz/corpus | cut -f1) bytes"

# The module built with ASan/UBSan, loaded into Debian's nginx with the
# sanitizer runtime preloaded; the same nginx tests run against it.
asan: test-deps $(ASAN_MODULE)
	NGX_WS_MODULE=$(ASAN_MODULE) NGX_WS_NGINX=$(NGINX_BIN) \
	NGX_WS_ASAN=1 prove -I t/lib t/

# The package installed with apt in a fresh Debian 12 root (a debootstrap
# root made once in build/deb-root), used by a site and socket.io-client.
deb-install: $(DEB)
	$(call apt_install,debootstrap perl nodejs)
	@cd t/e2e && [ -d node_modules ] || \
	    npm ci --no-audit --no-fund --loglevel=error
	t/deb-install.sh $(DEB) $(BUILD)/deb-root

# ---------------------------------------------------------------- package

# The way Debian builds its nginx module packages (debian/: dh --with nginx)
# in a copy of the sources under build/deb, so that the tree stays clean;
# the version is NGX_WS_VERSION, and debian/changelog must say the same.
deb: $(DEB)

$(DEB): $(MODULE_SRCS) LICENSE README.md $(shell find debian -type f)
	$(call apt_install,$(DEB_PKGS))
	@v=$$(dpkg-parsechangelog -l debian/changelog -S Version); \
	[ "$$v" = "$(DEB_VERSION)" ] || { \
	    echo "debian/changelog is at $$v, NGX_WS_VERSION at" \
	         "$(DEB_VERSION): add a changelog entry for $(DEB_VERSION)" >&2; \
	    exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	cp -a $(DEB_TREE) $(DEB_DIR)/src/
	cd $(DEB_DIR)/src && dpkg-buildpackage -b -uc -us > ../build.log 2>&1 \
	    || { tail -n 40 ../build.log; exit 1; }
	lintian --fail-on error,warning $(DEB_DIR)/*.changes
	@dpkg-deb -f $@ Package Version Depends

# ---------------------------------------------------------------- bench

bench: test-deps build
	@bench/run.sh "$(NGINX_BIN)" "$(MODULE)" "$(BUILD)/bench"

# Not while the install test has something mounted in its root.
clean:
	@awk -v d=$(BUILD)/ 'index($$2, d) == 1 { print "mounted: " $$2; f = 1 } \
	    END { exit f }' /proc/mounts
	rm -rf $(BUILD)
