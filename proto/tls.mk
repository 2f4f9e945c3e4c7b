# proto/tls.mk: the TLS transport, the configuration parsers and the PKI (owner: proto/tls.c,
# proto/config.c, proto/pki.c), and the config parsers' fuzz target.
# Other components link $(BF_NET_OBJS) $(BF_NET_LIBS) (the shim: bf_conn + the client config);
# bitfusiond adds $(BF_PKI_OBJS).
BF_NET_OBJS := $(B)/obj/proto/tls.o $(B)/obj/proto/config.o
BF_PKI_OBJS := $(B)/obj/proto/pki.o
BF_NET_LIBS := -lssl -lcrypto -lyaml
BF_VERSION  := $(shell sed -n 's/^\#define BF_VERSION_STRING *"\(.*\)"/\1/p' proto/wire.h 2>/dev/null)
ifeq ($(BF_VERSION),)
BF_VERSION  := 0.0.0
endif

$(BF_NET_OBJS) $(BF_PKI_OBJS): proto/bf_conn.h proto/config.h proto/pki.h

# `make fuzz-config` builds the libFuzzer target for the YAML parsers; `make fuzz-config-run`
# runs it for FUZZ_SECONDS seeded with tests/fuzz/config_seeds/.
CONFIG_FUZZ := $(B)/fuzz/fuzz_config
.PHONY: fuzz-config fuzz-config-run
fuzz-config: $(CONFIG_FUZZ)
$(CONFIG_FUZZ): tests/fuzz/fuzz_config.c proto/config.c proto/config.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -Iproto -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -o $@ tests/fuzz/fuzz_config.c proto/config.c -lyaml
fuzz-config-run: $(CONFIG_FUZZ)
	@mkdir -p $(B)/fuzz/corpus_config
	$(CONFIG_FUZZ) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	  $(B)/fuzz/corpus_config tests/fuzz/config_seeds

# The security tests' TLS client (tests/e2e/run_e2e.sh).
TLS_PROBE := $(B)/tests/e2e/tls_probe
$(TLS_PROBE): tests/e2e/tls_probe.c $(BF_NET_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iproto $(CFLAGS) -o $@ $^ $(LDFLAGS) $(BF_NET_LIBS)
tests: $(TLS_PROBE)
