# mirai_ext: the extension (PGXS), its command-line tools, tests and demo.
#
#   make demo      everything the demo needs, then the demo (as root, fresh Debian 12)
#   make test      everything the tests need, then every test against a private
#                  install tree; ends "N passed, N failed"
#   make           build the extension and the tools (needs postgresql-server-dev-15)
#   make install   install them
#   make fuzz      long fuzzing runs (FUZZ_SECONDS per target)
#   make asan-check  pg_regress against an ASan/UBSan build of the extension
#                  (in a private tree too)
#   make bench     the benchmarks behind README's figures
#   make bench-scale  the rollup benchmarks and the growth curve at about 100 M packets (long)
#
# This file parses where pg_config is not installed yet: `make test` and
# `make demo` install the Debian packages first and then run make again.

EXTENSION    = mirai_ext
EXTVERSION   = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

DECODE_SRCS  = $(wildcard src/decode/*.c)
DECODE_HDRS  = $(wildcard src/decode/*.h)
GLUE_SRCS    = $(wildcard src/pg/*.c)

MODULE_big   = $(EXTENSION)
OBJS         = $(DECODE_SRCS:.c=.o) $(GLUE_SRCS:.c=.o)
SQL_PARTS    = $(sort $(wildcard src/sql/*.sql))
DATA_built   = sql/$(EXTENSION)--$(EXTVERSION).sql
# upgrade scripts, and the frozen full scripts of older releases (test/upgrade)
DATA         = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*--*.sql)) \
               $(filter-out test/upgrade/$(EXTENSION)--$(EXTVERSION).sql,$(wildcard test/upgrade/$(EXTENSION)--*.sql))

# pg_regress tests: every sql/NAME.sql without "--" in its name, in this order
REGRESS      = $(filter-out $(EXTENSION)--%,$(basename $(notdir $(sort $(wildcard sql/*.sql)))))
REGRESS_OPTS = --load-extension=$(EXTENSION)

# libpq's header: the fleet code reads sensors through postgres_fdw's connections
PG_CPPFLAGS  = -Isrc/decode -Isrc/pg -I$(shell $(PG_CONFIG) --includedir 2>/dev/null)
PG_CFLAGS    = -Wall -Wextra -Werror -Wno-unused-parameter
SHLIB_LINK   = -lpcap -lmaxminddb -lz -lpq
EXTRA_CLEAN  = $(DATA_built) $(TOOLS) $(TOOL_OBJS) build

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

# --- command-line tools: plain C, the decoder built with plain flags --------
TOOL_CFLAGS  = -std=c99 -D_DEFAULT_SOURCE -O2 -g -Wall -Wextra -Werror -Isrc/decode
TOOL_DECODE  = $(patsubst src/decode/%.c,build/decode/%.o,$(DECODE_SRCS))
TOOLS        = $(basename $(wildcard src/bin/mirai_load.c src/bin/mirai_gen.c))
PREFIX      ?= /usr/local

ifneq ($(PGXS),)
include $(PGXS)

PG_INCLUDEDIR := $(shell $(PG_CONFIG) --includedir)
PG_LIBDIR     := $(shell $(PG_CONFIG) --libdir)

all: $(TOOLS)

install: install-tools

else
all install:
	@echo "pg_config not found: run 'make test' or 'make demo' (as root) to install what is needed" >&2
	@exit 1
endif

$(DATA_built): $(SQL_PARTS) $(EXTENSION).control
	cat $(SQL_PARTS) > $@

# the glue and the decoder objects inside the extension
$(OBJS): $(DECODE_HDRS) $(wildcard src/pg/*.h)

build/decode/%.o: src/decode/%.c $(DECODE_HDRS)
	@mkdir -p build/decode
	$(CC) $(TOOL_CFLAGS) -c -o $@ $<

# the loader: mirai_load.c and its parts, one concern each (src/bin/load.h)
LOAD_SRCS    = src/bin/mirai_load.c $(wildcard src/bin/load_*.c)

src/bin/mirai_load: $(LOAD_SRCS) src/bin/load.h $(TOOL_DECODE)
	$(CC) $(TOOL_CFLAGS) -I$(PG_INCLUDEDIR) -o $@ $(LOAD_SRCS) $(TOOL_DECODE) -L$(PG_LIBDIR) -lpq -lpcap -lz -lcrypto -pthread

# the generator: mirai_gen.c and its parts, one concern each (src/bin/gen.h)
GEN_SRCS     = src/bin/mirai_gen.c $(wildcard src/bin/gen_*.c)

src/bin/mirai_gen: $(GEN_SRCS) src/bin/gen.h
	$(CC) $(TOOL_CFLAGS) -o $@ $(GEN_SRCS) -lz

MANPAGES     = $(wildcard src/bin/*.1)

install-tools: $(TOOLS)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
ifneq ($(MANPAGES),)
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 $(MANPAGES) $(DESTDIR)$(PREFIX)/share/man/man1/
endif

# --- the extension built with AddressSanitizer and UBSan (asan-check) -------
# Objects go to build/asan, never over the normal ones; asan-install puts the
# .so, the control file and the script under ASAN_ROOT (a private tree that
# the test cluster reads through Debian's extension_destdir), never in the
# system directories.  test/asan.sh runs the server with libasan preloaded.
ASAN_FLAGS   = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_DIR     = build/asan
ASAN_ROOT   ?= $(ASAN_DIR)/root
ASAN_OBJS    = $(patsubst src/%.c,$(ASAN_DIR)/%.o,$(DECODE_SRCS) $(GLUE_SRCS))

$(ASAN_DIR)/%.o: src/%.c $(DECODE_HDRS) $(wildcard src/pg/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O1 $(ASAN_FLAGS) -c -o $@ $<

$(ASAN_DIR)/$(EXTENSION).so: $(ASAN_OBJS)
	$(CC) -shared $(ASAN_FLAGS) -o $@ $(ASAN_OBJS) $(LDFLAGS) $(SHLIB_LINK)

asan-install: $(ASAN_DIR)/$(EXTENSION).so $(DATA_built)
	install -d $(ASAN_ROOT)$(pkglibdir) $(ASAN_ROOT)$(datadir)/extension
	install -m 755 $(ASAN_DIR)/$(EXTENSION).so $(ASAN_ROOT)$(pkglibdir)/
	install -m 644 $(EXTENSION).control $(DATA_built) $(DATA) $(ASAN_ROOT)$(datadir)/extension/

# `make installcheck` against a running server (PGXS's target): the capture
# files the tests read are made and linked into its data directory first
installcheck: installcheck-fixtures
installcheck-fixtures: $(TOOLS)
	@sh test/installcheck_fixtures.sh

# --- set-up, tests, demo ----------------------------------------------------
.PHONY: deps test demo fuzz bench bench-scale install-tools asan-install asan-check installcheck-fixtures

deps:
	@sh test/deps.sh

# the tests install into a private tree of their own (test/run.sh), never
# over the system's extension: `make install` does that
test: deps
	@$(MAKE) --no-print-directory all >/dev/null
	@sh test/run.sh

demo: deps
	@$(MAKE) --no-print-directory all install >/dev/null
	@sh src/demo/demo.sh

fuzz: deps
	@sh test/fuzz/run.sh long

asan-check: deps
	@$(MAKE) --no-print-directory all >/dev/null
	@sh test/asan.sh

bench: deps
	@$(MAKE) --no-print-directory all install >/dev/null
	@sh test/bench/run.sh

# the rollup benchmarks at about 100 M packets (54 copies of the study's capture), and
# the growth curve at 1, 10 and 100 times the study's size (long)
bench-scale: deps
	@$(MAKE) --no-print-directory all install >/dev/null
	@BENCH_COPIES=54 BENCH_RAW_RUNS=1 sh test/bench/rollup.sh
	@BENCH_COPIES=54 BENCH_ROUNDS=3 sh test/bench/flat.sh
	@BENCH_SCALES="1 10 100" BENCH_FLEET_SCALES="1 10" sh test/bench/growth.sh
