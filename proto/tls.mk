# proto/tls.mk: the TLS transport, the configuration parsers and the PKI (owner: proto/tls.c,
# proto/config.c, proto/pki.c), the lease client (proto/lease_client.c, pool.c, filter.c), its
# unit tests and the parsers' fuzz targets.
# Other components link $(BF_NET_OBJS) $(BF_NET_LIBS) (the shim: bf_conn + the client config);
# bitfusiond adds $(BF_PKI_OBJS). The lease client (lease_client.h) is $(BF_LEASE_OBJS) with
# $(BF_WIRE_OBJS) $(BF_NET_OBJS) and $(BF_LEASE_LIBS) (BF_LEASE_OBJS holds only its own objects, so
# a program that links the wire and net objects already adds just these).
BF_NET_OBJS := $(B)/obj/proto/tls.o $(B)/obj/proto/config.o
BF_PKI_OBJS := $(B)/obj/proto/pki.o
BF_NET_LIBS := -lssl -lcrypto -lyaml
BF_VERSION  := $(shell sed -n 's/^\#define BF_VERSION_STRING *"\(.*\)"/\1/p' proto/wire.h 2>/dev/null)
ifeq ($(BF_VERSION),)
BF_VERSION  := 0.0.0
endif

$(BF_NET_OBJS) $(BF_PKI_OBJS): proto/bf_conn.h proto/config.h proto/pki.h
# config.c reads reservation files, declared in lease_client.h (which includes the generated header)
$(B)/obj/proto/config.o: CPPFLAGS += -I$(BF_GENDIR)
$(B)/obj/proto/config.o: proto/lease_client.h | $(BF_GEN)

# ---- the lease client --------------------------------------------------------------------------
BF_LEASE_OBJS := $(B)/obj/proto/filter.o $(B)/obj/proto/lease_client.o $(B)/obj/proto/pool.o
BF_LEASE_LIBS := $(BF_WIRE_LIBS) $(BF_NET_LIBS) -lpthread -lm
$(BF_LEASE_OBJS): CPPFLAGS += -Iproto -I$(BF_GENDIR)
$(BF_LEASE_OBJS): proto/lease_client.h proto/config.h proto/bf_conn.h proto/wire.h | $(BF_GEN)

# Unit tests of the lease client's pure parts, run by tests/run.sh with the others ...
LEASE_PARSE_TEST := $(B)/tests/emu/test_lease_parse
$(LEASE_PARSE_TEST): tests/proto/test_lease_parse.c $(BF_LEASE_OBJS) $(BF_WIRE_OBJS) $(BF_NET_OBJS) \
                     $(TEST_COMMON) $(wildcard tests/common/*.h) $(EMU_LIB) | $(BF_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iproto -I$(BF_GENDIR) -Itests/common $(CFLAGS) -fvisibility=default -o $@ $< \
	  $(TEST_COMMON) $(BF_LEASE_OBJS) $(BF_WIRE_OBJS) $(BF_NET_OBJS) -L$(dir $(EMU_LIB)) \
	  -Wl,-rpath,'$$ORIGIN/../../lib/bitfusion/emu' -l:libcuda.so.1 $(LDFLAGS) $(BF_LEASE_LIBS) -lzstd
# ... and of the lease client against fake control servers over TLS (a throw-away PKI).
LEASE_CLIENT_TEST := $(B)/tests/emu/test_lease_client
$(LEASE_CLIENT_TEST): tests/proto/test_lease_client.c $(BF_LEASE_OBJS) $(BF_WIRE_OBJS) $(BF_NET_OBJS) \
                      $(BF_PKI_OBJS) $(TEST_COMMON) $(wildcard tests/common/*.h) $(EMU_LIB) | $(BF_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iproto -I$(BF_GENDIR) -Itests/common $(CFLAGS) -fvisibility=default -o $@ $< \
	  $(TEST_COMMON) $(BF_LEASE_OBJS) $(BF_WIRE_OBJS) $(BF_NET_OBJS) $(BF_PKI_OBJS) -L$(dir $(EMU_LIB)) \
	  -Wl,-rpath,'$$ORIGIN/../../lib/bitfusion/emu' -l:libcuda.so.1 $(LDFLAGS) $(BF_LEASE_LIBS) -lzstd
tests: $(LEASE_PARSE_TEST) $(LEASE_CLIENT_TEST)

# `make fuzz-config` builds the libFuzzer target for the YAML parsers; `make fuzz-config-run`
# runs it for FUZZ_SECONDS seeded with tests/fuzz/config_seeds/.
CONFIG_FUZZ := $(B)/fuzz/fuzz_config
.PHONY: fuzz-config fuzz-config-run
fuzz-config: $(CONFIG_FUZZ)
$(CONFIG_FUZZ): tests/fuzz/fuzz_config.c proto/config.c proto/config.h proto/lease_client.h | $(BF_GEN)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -Iproto -I$(BF_GENDIR) -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -o $@ tests/fuzz/fuzz_config.c proto/config.c -lyaml
fuzz-config-run: $(CONFIG_FUZZ)
	@mkdir -p $(B)/fuzz/corpus_config
	$(CONFIG_FUZZ) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	  $(B)/fuzz/corpus_config tests/fuzz/config_seeds

# `make fuzz-lease` builds the libFuzzer target for the lease client's parsers (reservation files,
# filters, BITFUSION_LEASE; filters matched against a fixed inventory); `make fuzz-lease-run`
# runs it for FUZZ_SECONDS seeded with tests/fuzz/lease_seeds/.
LEASE_FUZZ := $(B)/fuzz/fuzz_lease
LEASE_FUZZ_SRCS := tests/fuzz/fuzz_lease.c proto/config.c proto/filter.c proto/lease_client.c proto/pool.c \
                   proto/wire.c proto/tls.c $(BF_PB_C)
.PHONY: fuzz-lease fuzz-lease-run
fuzz-lease: $(LEASE_FUZZ)
$(LEASE_FUZZ): $(LEASE_FUZZ_SRCS) proto/config.h proto/lease_client.h proto/wire.h proto/bf_conn.h | $(BF_GEN)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -Iproto -I$(BF_GENDIR) -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -o $@ $(LEASE_FUZZ_SRCS) \
	  $(BF_LEASE_LIBS)
fuzz-lease-run: $(LEASE_FUZZ)
	@mkdir -p $(B)/fuzz/corpus_lease
	$(LEASE_FUZZ) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	  $(B)/fuzz/corpus_lease tests/fuzz/lease_seeds

# The security tests' TLS client (tests/e2e/run_e2e.sh).
TLS_PROBE := $(B)/tests/e2e/tls_probe
$(TLS_PROBE): tests/e2e/tls_probe.c $(BF_NET_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iproto $(CFLAGS) -o $@ $^ $(LDFLAGS) $(BF_NET_LIBS)
tests: $(TLS_PROBE)
