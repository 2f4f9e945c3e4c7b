# cli/cli.mk: the `bitfusion` command (owner: cli/*.c), linked with the client lease API
# ($(BF_LEASE_OBJS): proto/lease_client.c, pool.c, filter.c, config.c's reservation files), the
# wire frames ($(BF_WIRE_OBJS)) and the TLS transport and configuration parsers ($(BF_NET_OBJS)).
# This fragment is read before proto/*.mk (it sorts first), so the objects and libraries they
# export are named with secondary expansion ($$(...)) and in recipes, which expand late.
BITFUSION_CLI := $(B)/bin/bitfusion
CLI_SRCS      := $(wildcard cli/*.c)
CLI_OBJS      := $(patsubst %.c,$(B)/obj/%.o,$(CLI_SRCS))
CLI_VERSION    = $(shell sed -n 's/^\#define BF_VERSION_STRING *"\(.*\)"/\1/p' proto/wire.h 2>/dev/null)

.SECONDEXPANSION:
$(CLI_OBJS): CPPFLAGS += -Iproto -Icli -I$(B)/gen -DBF_VERSION=\"$(or $(CLI_VERSION),0.0.0)\"
$(CLI_OBJS): cli/cli.h proto/config.h proto/lease_client.h proto/bf_conn.h proto/wire.h | $$(BF_GEN)

$(BITFUSION_CLI): $(CLI_OBJS) $$(BF_LEASE_OBJS) $$(BF_WIRE_OBJS) $$(BF_NET_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(BF_LEASE_LIBS) $(BF_WIRE_LIBS) $(BF_NET_LIBS) -lpthread

.PHONY: bitfusion-cli install-cli
bitfusion-cli: $(BITFUSION_CLI)
all: $(BITFUSION_CLI)

install: install-cli
install-cli: $(BITFUSION_CLI)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BITFUSION_CLI) $(DESTDIR)$(PREFIX)/bin/bitfusion
