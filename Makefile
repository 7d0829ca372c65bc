# gatewayd — plain GNU Makefile. Sources are found by directory, so adding a
# module is adding a file:
#   policy/*.c          -> build/lib/libpolicy.a   (pure library)
#   drivers/*.c         -> build/lib/libdrivers.a
#   gateway/*.c         -> build/lib/libgateway.a  (minus the two mains)
#   gateway/gatewayd.c, gateway/gatectl.c, gateway/gateconsole.c -> build/bin/
#   tests/unit/test_X.c -> build/test/test_X (ASan+UBSan, cmocka); optional
#                          tests/unit/test_X.ldflags adds link flags (--wrap=)
#   tests/fuzz/fuzz_X.c -> build/fuzz/fuzz_X (clang libFuzzer)
#   tests/bench/bench_X.c -> build/bench/bench_X (optimised, no sanitizers)
#   tests/integration/*.sh run by `make check` with the sanitized binaries.

CC      ?= cc
CLANG   ?= clang
V       ?= 0
Q        = $(if $(filter 1,$(V)),,@)

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wno-format-nonliteral
HARDEN   = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CPPFLAGS = -D_GNU_SOURCE -I.
CFLAGS_REL  = -std=c17 -O2 -g $(WARN) $(HARDEN)
CFLAGS_SAN  = -std=c17 -O1 -g $(WARN) -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all
LDHARDEN    = -pie -Wl,-z,relro,-z,now
LIBS        = -levent -lmbedtls -lmbedx509 -lmbedcrypto -lnfc -lpthread -lm -lgpiod -lseccomp
# make SANDBOX_DEBUG=1: a refused syscall is reported by name instead of
# killing silently (gateway/sandbox.h)
ifeq ($(SANDBOX_DEBUG),1)
CPPFLAGS += -DSANDBOX_DEBUG
endif

POLICY_SRC  = $(wildcard policy/*.c)
DRIVER_SRC  = $(wildcard drivers/*.c)
MAINS       = gateway/gatewayd.c gateway/gatectl.c gateway/gateconsole.c
GATEWAY_SRC = $(filter-out $(MAINS),$(wildcard gateway/*.c))
UNIT_SRC    = $(wildcard tests/unit/test_*.c)
UNIT_HELPERS= $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
FUZZ_SRC    = $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRC   = $(wildcard tests/bench/bench_*.c)

B = build
obj_rel = $(patsubst %.c,$(B)/obj/%.o,$(1))
obj_san = $(patsubst %.c,$(B)/san/%.o,$(1))

LIB_REL = $(B)/lib/libgateway.a $(B)/lib/libdrivers.a $(B)/lib/libpolicy.a
LIB_SAN = $(B)/lib/libgateway-san.a $(B)/lib/libdrivers-san.a $(B)/lib/libpolicy-san.a

BINS     = $(B)/bin/gatewayd $(B)/bin/gatectl $(B)/bin/gateconsole
SAN_BINS = $(B)/san/bin/gatewayd $(B)/san/bin/gatectl $(B)/san/bin/gateconsole
UNITS    = $(patsubst tests/unit/%.c,$(B)/test/%,$(UNIT_SRC))
FUZZERS  = $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
BENCHES  = $(patsubst tests/bench/%.c,$(B)/bench/%,$(BENCH_SRC))

.PHONY: all deps check unit integration fuzz bench demo clean certs install uninstall
# keep objects made by chained rules: no rebuild on the next run
.SECONDARY:
all: deps $(BINS)

deps:
	$(Q)sh tools/deps.sh

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS_REL) -MMD -MP -c $< -o $@
$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-SAN  $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS_SAN) -MMD -MP -c $< -o $@

$(B)/lib/libpolicy.a: $(call obj_rel,$(POLICY_SRC))
$(B)/lib/libdrivers.a: $(call obj_rel,$(DRIVER_SRC))
$(B)/lib/libgateway.a: $(call obj_rel,$(GATEWAY_SRC))
$(B)/lib/libpolicy-san.a: $(call obj_san,$(POLICY_SRC))
$(B)/lib/libdrivers-san.a: $(call obj_san,$(DRIVER_SRC))
$(B)/lib/libgateway-san.a: $(call obj_san,$(GATEWAY_SRC))
$(B)/lib/%.a:
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/bin/%: $(B)/obj/gateway/%.o $(LIB_REL)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_REL) $(LDHARDEN) $< $(LIB_REL) $(LIBS) -o $@
$(B)/san/bin/%: $(B)/san/gateway/%.o $(LIB_SAN)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD-SAN  $@")
	$(Q)$(CC) $(CFLAGS_SAN) $< $(LIB_SAN) $(LIBS) -o $@

$(B)/test/%: $(B)/san/tests/unit/%.o $(call obj_san,$(UNIT_HELPERS)) $(LIB_SAN)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD-TEST $@")
	$(Q)$(CC) $(CFLAGS_SAN) $< $(call obj_san,$(UNIT_HELPERS)) $(shell cat tests/unit/$*.ldflags 2>/dev/null) \
		$(LIB_SAN) $(LIBS) -lcmocka -o $@

FUZZ_CFLAGS = -std=c17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(CPPFLAGS) -DFUZZING
$(B)/fuzz/%: tests/fuzz/%.c $(POLICY_SRC) $(GATEWAY_SRC) $(DRIVER_SRC)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $< $(POLICY_SRC) $(filter $(shell cat tests/fuzz/$*.srcs 2>/dev/null),$(GATEWAY_SRC) $(DRIVER_SRC)) $(LIBS) -o $@

$(B)/bench/%: tests/bench/%.c $(LIB_REL)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) $(CPPFLAGS) -std=c17 -O2 -g $(WARN) $< $(LIB_REL) $(LIBS) -o $@

# The tests: every unit binary, then every integration script; a failure in
# any one fails the target, after all have run, with a closing count.
check: deps $(UNITS) $(SAN_BINS) $(BINS)
	$(Q)sh tests/run.sh $(UNITS)

unit: deps $(UNITS)
	$(Q)sh tests/run.sh --unit-only $(UNITS)

FUZZ_SECONDS ?= 60
fuzz: deps $(FUZZERS)
	$(Q)for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p $(B)/fuzz/corpus-$$n; \
		echo "== $$n ($(FUZZ_SECONDS)s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -print_final_stats=1 \
		    $(B)/fuzz/corpus-$$n tests/fuzz/seeds-$${n#fuzz_} 2>$(B)/fuzz/$$n.log || { tail -50 $(B)/fuzz/$$n.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units|cov:' $(B)/fuzz/$$n.log | tail -2; done

bench: deps $(BENCHES) $(BINS)
	$(Q)for b in $(BENCHES); do $$b || exit 1; done
	$(Q)if [ -x tests/bench/daemon.sh ]; then sh tests/bench/daemon.sh; fi
	$(Q)if [ -x tests/bench/console.sh ]; then sh tests/bench/console.sh; fi

demo: deps $(BINS)
	$(Q)sh examples/demo.sh

# make install [PREFIX=/usr/local] [DESTDIR=...]: copies what `make` built
# (never builds: `sudo make install` must not compile as root or with other
# flags). Units go where systemd looks: /lib/systemd/system for PREFIX=/usr
# (Debian 12), else PREFIX/lib/systemd/system. /etc/gatewayd gets a working
# example (simulated hardware) only when it has no gateway.conf; an admin's
# files are never overwritten, and uninstall leaves /etc/gatewayd and the
# journal alone. No chown here: the user comes from sysusers.d, the
# directories from tmpfiles.d (docs/install.md).
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
SBINDIR     = $(PREFIX)/sbin
BINDIR      = $(PREFIX)/bin
DATADIR     = $(PREFIX)/share
MANDIR      = $(DATADIR)/man
DOCDIR      = $(DATADIR)/doc/gatewayd
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
SYSUSERSDIR?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR?= $(PREFIX)/lib/tmpfiles.d
UNITS_IN    = gateway/systemd/gatewayd.service gateway/systemd/gateconsole.service
MANPAGES    = $(wildcard docs/man/*.[58])
EXAMPLE_FILES = $(wildcard examples/*/*)
ETC_GW      = $(DESTDIR)$(SYSCONFDIR)/gatewayd

UNIT_SED    = -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
              -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g'

install:
	$(Q)for b in $(BINS); do [ -x $$b ] || { echo "$$b: not built; run make first" >&2; exit 1; }; done
	$(Q)install -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DATADIR)/gatewayd/console $(DESTDIR)$(DOCDIR)/examples \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(ETC_GW)
	$(Q)install -m 0755 $(B)/bin/gatewayd $(B)/bin/gateconsole $(DESTDIR)$(SBINDIR)/
	$(Q)install -m 0755 $(B)/bin/gatectl $(DESTDIR)$(BINDIR)/
	$(Q)install -m 0644 gateway/console/index.html gateway/console/console.js \
	    gateway/console/console.css $(DESTDIR)$(DATADIR)/gatewayd/console/
	$(Q)for m in $(MANPAGES); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done
	$(Q)for u in $(UNITS_IN); do t=$(DESTDIR)$(UNITDIR)/.$${u##*/}.tmp; sed $(UNIT_SED) $$u.in > $$t && \
	    install -m 0644 $$t $(DESTDIR)$(UNITDIR)/$${u##*/}; rc=$$?; rm -f $$t; [ $$rc = 0 ] || exit 1; done
	$(Q)install -m 0644 gateway/systemd/gatewayd.sysusers $(DESTDIR)$(SYSUSERSDIR)/gatewayd.conf
	$(Q)install -m 0644 gateway/systemd/gatewayd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/gatewayd.conf
	$(Q)install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/
	$(Q)for f in $(EXAMPLE_FILES); do d=$(DESTDIR)$(DOCDIR)/$$f; install -d -m 0755 $${d%/*}; \
	    install -m 0644 $$f $$d; done
	$(Q)if [ ! -e $(ETC_GW)/gateway.conf ]; then \
	    for f in hospital.pol staff.csv; do [ -e $(ETC_GW)/$$f ] || install -m 0640 examples/hospital/$$f $(ETC_GW)/; done; \
	    sed 's|^socket .*|socket "/run/gatewayd/gatewayd.sock";         # the unit may write only under /run/gatewayd|' \
	        examples/hospital/gateway.conf > $(ETC_GW)/gateway.conf.new && chmod 0644 $(ETC_GW)/gateway.conf.new && \
	        mv $(ETC_GW)/gateway.conf.new $(ETC_GW)/gateway.conf; \
	    echo "installed an example $(SYSCONFDIR)/gatewayd/gateway.conf (simulated hardware)"; \
	else echo "$(SYSCONFDIR)/gatewayd/gateway.conf exists: left as it is"; fi
	$(Q)[ -n "$(DESTDIR)" ] || echo "next: systemd-sysusers; systemd-tmpfiles --create; systemctl daemon-reload (docs/install.md)"

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/gatewayd $(DESTDIR)$(SBINDIR)/gateconsole $(DESTDIR)$(BINDIR)/gatectl
	rm -f $(patsubst docs/man/%,$(DESTDIR)$(MANDIR)/man5/%,$(filter %.5,$(MANPAGES))) \
	      $(patsubst docs/man/%,$(DESTDIR)$(MANDIR)/man8/%,$(filter %.8,$(MANPAGES)))
	rm -f $(DESTDIR)$(UNITDIR)/gatewayd.service $(DESTDIR)$(UNITDIR)/gateconsole.service
	rm -f $(DESTDIR)$(SYSUSERSDIR)/gatewayd.conf $(DESTDIR)$(TMPFILESDIR)/gatewayd.conf
	rm -rf $(DESTDIR)$(DATADIR)/gatewayd $(DESTDIR)$(DOCDIR)
	@echo "left: $(SYSCONFDIR)/gatewayd (configuration), /var/lib/gatewayd (the journal: evidence), the users"

# A development PKI (venue CA, server "localhost", gateway gw-dev-01) under
# build/certs; see certs/README.md. Never for production.
certs: deps
	$(Q)if [ -f $(B)/certs/ca/venue-ca.pem ]; then echo "$(B)/certs exists"; \
		else sh certs/venue-pki.sh $(B)/certs dev; fi

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
