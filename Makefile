# mintrace — one non-recursive build graph for the library, every program and every test.
#
#   make                 library and programs into build/bin/
#   make test            unit + integration + end-to-end (starts a real Kafka broker itself)
#   make unit            unit tests only (no Kafka): the edit-compile loop
#   make valgrind        unit tests under valgrind (memory errors, definite leaks)
#   make check           what CI runs: installs what is missing, lint, test, then the
#                        sanitizer build's tests
#   make demo            the pipeline end to end (real broker if Java is there, else embedded)
#   make bench           benchmarks (placeholder until the benchmark issue)
#   make SANITIZE=address,undefined test     the same tests under ASan + UBSan (in build/san/)
#   make install PREFIX=/usr/local
#   make clean           V=1 shows every command
#
# Layout: services/lib/*.c is the core archive; services/<name>/*.c (main.c wiring plus any
# program-only files) links into build/bin/<program>; tests/unit/test_*.c each link into one
# cmocka binary. New files need no Makefile edit.

CC      ?= cc
PREFIX  ?= /usr/local
# where `make install` puts topics.json and the JSON Schemas; compiled into the programs as
# MT_DATADIR, the last place mt_topics_default_path() looks (services/lib/topics.h)
pkgdatadir = $(PREFIX)/share/mintrace
PKGS    := rdkafka libprotobuf-c libsodium jansson
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
NPROC   := $(shell nproc 2>/dev/null || echo 2)

ifeq ($(SANITIZE),)
O ?= build
else
O ?= build/san
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
             -Wno-missing-field-initializers -MMD -MP \
             -DMT_VERSION='"$(VERSION)"' -DMT_DATADIR='"$(pkgdatadir)"' -I$(O)/gen -Iservices/lib $(PKG_CFLAGS) \
             $(SAN_FLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)
LIBS        = $(PKG_LIBS) -lpthread -lm

ifneq ($(V),1)
Q = @
quiet = @printf '  %-7s %s\n' $(1) $(2);
endif

# ---- the wire contract: protoc-c output lives in $(O)/gen, never in git ----
PROTOS    := $(sort $(wildcard proto/mintrace/v1/*.proto))
GEN_C     := $(patsubst proto/%.proto,$(O)/gen/%.pb-c.c,$(PROTOS))
GEN_H     := $(GEN_C:.c=.h)
GEN_OBJ   := $(GEN_C:.c=.o)

# ---- the core library ----
LIB_SRC   := $(sort $(wildcard services/lib/*.c))
LIB_OBJ   := $(patsubst %.c,$(O)/%.o,$(LIB_SRC))
LIB       := $(O)/libmintrace.a

# ---- programs: services/<dir>/ -> build/bin/<program> ----
# services/mintrace is the CLI `mintrace`; every other folder is the daemon `mintrace-<dir>`.
PROG_DIRS := $(filter-out lib,$(notdir $(patsubst %/main.c,%,$(wildcard services/*/main.c))))
prog_name  = $(if $(filter mintrace,$(1)),mintrace,mintrace-$(1))
PROGS     := $(foreach d,$(PROG_DIRS),$(O)/bin/$(call prog_name,$(d)))

# ---- unit tests ----
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))

ALL_OBJ   := $(GEN_OBJ) $(LIB_OBJ) $(foreach d,$(PROG_DIRS),$(patsubst %.c,$(O)/%.o,$(wildcard services/$(d)/*.c)))

.PHONY: all test unit valgrind integration e2e check deps lint demo bench install clean FORCE
.DEFAULT_GOAL := all
.SECONDARY:

all: $(PROGS)

# A changed compiler or flag set rebuilds everything (git's trick).
$(O)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)' | cmp -s - $@ || \
	  echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)' > $@

$(O)/gen/%.pb-c.c $(O)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(O)/gen
	$(call quiet,PROTOC,$<)
	$(Q)protoc-c --proto_path=proto --c_out=$(O)/gen $<

# Every object may include any generated header.
$(O)/%.o: %.c $(O)/.flags | $(GEN_H)
	@mkdir -p $(@D)
	$(call quiet,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/gen/%.o: $(O)/gen/%.c $(O)/.flags
	$(call quiet,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-unused-parameter -c -o $@ $<

$(LIB): $(GEN_OBJ) $(LIB_OBJ)
	$(call quiet,AR,$@)
	$(Q)rm -f $@.tmp && ar rcs $@.tmp $^ && mv $@.tmp $@

define prog_rule
$(O)/bin/$(call prog_name,$(1)): $(patsubst %.c,$(O)/%.o,$(wildcard services/$(1)/*.c)) $(LIB)
	@mkdir -p $$(@D)
	$$(call quiet,LINK,$$@)
	$$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach d,$(PROG_DIRS),$(eval $(call prog_rule,$(d))))

$(O)/tests/test_%: $(O)/tests/unit/test_%.o $(LIB)
	@mkdir -p $(@D)
	$(call quiet,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LIBS)

# ---- benchmark programs: tests/bench/bench_*.c, each one file, linked with the library ----
BENCH_BIN := $(patsubst tests/bench/%.c,$(O)/bench/%,$(sort $(wildcard tests/bench/bench_*.c)))
$(O)/bench/bench_%: tests/bench/bench_%.c $(LIB) $(O)/.flags | $(GEN_H)
	@mkdir -p $(@D)
	$(call quiet,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

# ---- running things ----
unit: $(UNIT_BIN)
	@tests/unit/run.sh $(UNIT_BIN)

valgrind: $(UNIT_BIN)
	@VALGRIND=1 tests/unit/run.sh $(UNIT_BIN)

integration e2e: all
	@MT_BIN=$(O)/bin tests/run.sh $@

test: $(UNIT_BIN) all
	@tests/unit/run.sh $(UNIT_BIN)
	@MT_BIN=$(O)/bin tests/run.sh integration e2e

lint:
	@tests/lint.sh

deps:
	@deploy/install-deps.sh

check: deps
	@tests/lint.sh
	$(MAKE) -j$(NPROC) test
	$(MAKE) -j$(NPROC) valgrind
	$(MAKE) -j$(NPROC) SANITIZE=address,undefined test

demo:
	@deploy/install-deps.sh --runtime
	@$(MAKE) --no-print-directory all
	@MT_BIN=$(O)/bin deploy/demo.sh

bench: all $(BENCH_BIN)
	@MT_BIN=$(O)/bin MT_BENCH_BIN=$(O)/bench tests/bench/run.sh

# Programs, the producer API (mintrace.h and the generated headers it includes, as
# <prefix>/include/mintrace/v1/*.pb-c.h) with libmintrace.a, and topics.json plus the JSON
# Schemas into $(pkgdatadir). DESTDIR is for staging (deploy/Dockerfile): the programs look for
# $(pkgdatadir), never $(DESTDIR)$(pkgdatadir).
install: all $(LIB) $(GEN_H)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include/mintrace/v1 \
	  $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(pkgdatadir)
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 services/lib/mintrace.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 $(GEN_H) $(DESTDIR)$(PREFIX)/include/mintrace/v1/
	install -m 0644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 schemas/topics.json $(wildcard schemas/*.schema.json) $(DESTDIR)$(pkgdatadir)/

clean:
	rm -rf build

-include $(ALL_OBJ:.o=.d) $(patsubst tests/unit/%.c,$(O)/tests/unit/%.d,$(UNIT_SRC))
