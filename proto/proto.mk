# proto/proto.mk: the wire contract and the marshaling generated from it (owner: proto/wire.c,
# proto/bitfusion.proto, proto/calls.spec, scripts/gen_calls.py) and the session layer that
# bitfusiond links (server/session*.c). Generated code goes to $(B)/gen, never into the tree.
# Exports: BF_WIRE_OBJS / BF_WIRE_LIBS (frames), BF_GEN (generated headers, order-only prerequisite
# of anything including them), BITFUSIOND_SESSION_OBJS / BITFUSIOND_SESSION_LIBS (server/server.mk).
PROTOC_C     ?= protoc-c
BF_GENDIR    := $(B)/gen
BF_PB_C      := $(BF_GENDIR)/bitfusion.pb-c.c
BF_PB_H      := $(BF_GENDIR)/bitfusion.pb-c.h
BF_CALLS_GEN := $(BF_GENDIR)/bf_client_calls.c $(BF_GENDIR)/bf_server_calls.c $(BF_GENDIR)/bf_calls.h \
                $(BF_GENDIR)/bf_errors.c
BF_GEN       := $(BF_PB_H) $(BF_GENDIR)/bf_calls.h
BF_WIRE_OBJS := $(B)/obj/proto/wire.o $(B)/obj/gen/bitfusion.pb-c.o
BF_WIRE_LIBS := -lprotobuf-c

$(BF_PB_C) $(BF_PB_H): proto/bitfusion.proto
	@mkdir -p $(BF_GENDIR)
	$(PROTOC_C) --proto_path=proto --c_out=$(BF_GENDIR) $<

# one run writes all four files (grouped target)
$(BF_CALLS_GEN) &: proto/calls.spec scripts/gen_calls.py scripts/gen_stubs.py $(CUDA_HOME)/include/cuda.h emu/errors.c
	@mkdir -p $(BF_GENDIR)
	$(PYTHON) scripts/gen_calls.py $(CUDA_HOME)/include/cuda.h proto/calls.spec $(BF_GENDIR)

$(B)/obj/gen/%.o: $(BF_GENDIR)/%.c $(BF_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iproto -Ishim -Iserver -I$(BF_GENDIR) $(CFLAGS) -Wno-unused-parameter -c $< -o $@

$(B)/obj/proto/wire.o: CPPFLAGS += -Iproto -I$(BF_GENDIR)
$(B)/obj/proto/wire.o: proto/wire.h proto/bf_conn.h | $(BF_GEN)

# ---- the session layer (server/session.c, server/session_calls.c) --------------------------------
BF_SESSION_SRCS := server/session.c server/session_calls.c server/session_ctl.c server/session_control.c \
                   server/session_partition.c server/session_nvml.c
BF_SESSION_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(BF_SESSION_SRCS)) $(B)/obj/gen/bf_server_calls.o
$(patsubst %.c,$(B)/obj/%.o,$(BF_SESSION_SRCS)): CPPFLAGS += -Iproto -Iserver -I$(BF_GENDIR)
$(patsubst %.c,$(B)/obj/%.o,$(BF_SESSION_SRCS)): $(wildcard server/session*.h) server/lease_shm.h proto/wire.h | $(BF_GEN)

BITFUSIOND_SESSION_OBJS := $(BF_SESSION_OBJS) $(BF_WIRE_OBJS)
BITFUSIOND_SESSION_LIBS := $(BF_WIRE_LIBS) -ldl -lpthread
