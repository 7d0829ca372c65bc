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

.PHONY: all deps check unit integration fuzz bench demo clean certs
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

# A development PKI (venue CA, server "localhost", gateway gw-dev-01) under
# build/certs; see certs/README.md. Never for production.
certs: deps
	$(Q)if [ -f $(B)/certs/ca/venue-ca.pem ]; then echo "$(B)/certs exists"; \
		else sh certs/venue-pki.sh $(B)/certs dev; fi

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
