# server/server.mk: bitfusiond (owner: server/main.c, listen.c, worker.c, backend.c, cmd_pki.c,
# log.c, lease.c, inventory.c) and its systemd unit. The session layer (server/session*.c, which
# the test server links too) comes in through BITFUSIOND_SESSION_OBJS / BITFUSIOND_SESSION_LIBS
# (proto/proto.mk).
BITFUSIOND       := $(B)/sbin/bitfusiond
SERVER_OWN_SRCS  := $(filter-out server/session%,$(wildcard server/*.c))
SERVER_OWN_OBJS  := $(patsubst %.c,$(B)/obj/%.o,$(sort $(SERVER_OWN_SRCS)))
BITFUSIOND_SESSION_OBJS ?=
BITFUSIOND_SESSION_LIBS ?=

$(SERVER_OWN_OBJS): CPPFLAGS += -Iproto -Iserver -I$(B)/gen -DBF_VERSION=\"$(BF_VERSION)\"
$(SERVER_OWN_OBJS): $(wildcard server/*.h) proto/bf_conn.h proto/config.h proto/pki.h proto/wire.h | $(BF_GEN)

$(BITFUSIOND): $(SERVER_OWN_OBJS) $(BITFUSIOND_SESSION_OBJS) $(BF_NET_OBJS) $(BF_PKI_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(BITFUSIOND_SESSION_LIBS) $(BF_NET_LIBS) -ldl -lm

.PHONY: bitfusiond install-server
bitfusiond: $(BITFUSIOND)
all: $(BITFUSIOND)

install: install-server
install-server: $(BITFUSIOND)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0755 $(BITFUSIOND) $(DESTDIR)$(PREFIX)/sbin/bitfusiond
	sed 's|@PREFIX@|$(PREFIX)|g' server/bitfusiond.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/bitfusiond.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/bitfusiond.service

# `make fuzz-lease-server` builds the libFuzzer target for the parent's lease bookkeeping (the
# messages workers pass on from clients, workers ending, timers; tests/fuzz/fuzz_lease_server.c);
# `make fuzz-lease-server-run` runs it for FUZZ_SECONDS.
LEASE_SERVER_FUZZ := $(B)/fuzz/fuzz_lease_server
LEASE_SERVER_FUZZ_SRCS := tests/fuzz/fuzz_lease_server.c server/lease.c server/session_ctl.c proto/config.c $(BF_PB_C)
.PHONY: fuzz-lease-server fuzz-lease-server-run
fuzz-lease-server: $(LEASE_SERVER_FUZZ)
$(LEASE_SERVER_FUZZ): $(LEASE_SERVER_FUZZ_SRCS) $(wildcard server/*.h) proto/config.h | $(BF_GEN)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -Iproto -Iserver -I$(BF_GENDIR) -I$(CUDA_HOME)/include -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror \
	  -Wno-unused-parameter -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -o $@ \
	  $(LEASE_SERVER_FUZZ_SRCS) -lprotobuf-c -lyaml -lm
fuzz-lease-server-run: $(LEASE_SERVER_FUZZ)
	@mkdir -p $(B)/fuzz/corpus_lease_server
	$(LEASE_SERVER_FUZZ) -max_total_time=$(FUZZ_SECONDS) -max_len=2048 -timeout=10 $(B)/fuzz/corpus_lease_server
