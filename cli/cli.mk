# cli/cli.mk: the `bitfusion` command (owner: cli/*.c), linked with the client configuration
# parser and the TLS transport (proto/config.c, proto/tls.c).
BITFUSION_CLI := $(B)/bin/bitfusion
CLI_SRCS      := $(wildcard cli/*.c)
CLI_OBJS      := $(patsubst %.c,$(B)/obj/%.o,$(CLI_SRCS))
CLI_NET_OBJS  := $(B)/obj/proto/config.o $(B)/obj/proto/tls.o
CLI_VERSION    = $(shell sed -n 's/^\#define BF_VERSION_STRING *"\(.*\)"/\1/p' proto/wire.h 2>/dev/null)

$(CLI_OBJS): CPPFLAGS += -Iproto -Icli -DBF_VERSION=\"$(or $(CLI_VERSION),0.0.0)\"
$(CLI_OBJS): cli/cli.h proto/config.h

$(BITFUSION_CLI): $(CLI_OBJS) $(CLI_NET_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lssl -lcrypto -lyaml

.PHONY: bitfusion-cli install-cli
bitfusion-cli: $(BITFUSION_CLI)
all: $(BITFUSION_CLI)

install: install-cli
install-cli: $(BITFUSION_CLI)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BITFUSION_CLI) $(DESTDIR)$(PREFIX)/bin/bitfusion
