# shim/shim.mk: the client library $(B)/lib/bitfusion/client/libcuda.so.1 (owner: shim/): the
# hand-written calls in shim/*.c, the generated stubs ($(B)/gen/bf_client_calls.c), the error
# tables, the export-table component (emu/export_*.c via shim/export.c), NOT_SUPPORTED stubs
# (scripts/gen_stubs.py) for every other driver entry point, the lease client (proto/, for leasing
# at cuInit), and NVML (shim/nvml*.c, NOT_SUPPORTED stubs from shim/nvml_names.txt): the same file
# is also libnvidia-ml.so.1 (a symlink, so that a process that loads both gets one library).
# Also the remote tests (tests/remote/) and their test server.
SHIM_LIB   := $(B)/lib/bitfusion/client/libcuda.so.1
SHIM_SRCS  := $(wildcard shim/*.c)
# The export-table component (emu/export_tables.h) serves cudart's private tables here too: its
# objects are the emu's own (plain C over cuda.h), bound to the shim's driver by shim/export.c.
SHIM_EXPORT_OBJS := $(patsubst %.c,$(B)/obj/%.o,emu/export_tables.c emu/export_cls.c \
                    emu/export_cudart.c emu/export_integrity.c)
SHIM_OBJS  := $(patsubst %.c,$(B)/obj/%.o,$(SHIM_SRCS)) $(B)/obj/gen/bf_client_calls.o \
              $(B)/obj/gen/bf_errors.o $(SHIM_EXPORT_OBJS)
SHIM_LIBS  := $(BF_WIRE_LIBS) $(BF_NET_LIBS) $(BF_LEASE_LIBS) -ldl -lpthread
SHIM_NVML  := $(dir $(SHIM_LIB))libnvidia-ml.so.1

$(patsubst %.c,$(B)/obj/%.o,$(SHIM_SRCS)): CPPFLAGS += -Iproto -Ishim -I$(BF_GENDIR)
$(patsubst %.c,$(B)/obj/%.o,$(SHIM_SRCS)): $(wildcard shim/*.h) proto/wire.h proto/lease_client.h proto/config.h | $(BF_GEN)
$(B)/obj/shim/export.o: emu/export_tables.h

$(B)/gen/shim_stubs.c: $(SHIM_OBJS) $(BF_WIRE_OBJS) scripts/gen_stubs.py
	@mkdir -p $(dir $@)
	nm -g --defined-only $(SHIM_OBJS) | awk '{print $$3}' > $(B)/gen/shim_defined.txt
	$(PYTHON) scripts/gen_stubs.py $(CUDA_HOME)/include/cuda.h $(B)/gen/shim_defined.txt bf_log_unimplemented > $@

$(B)/gen/nvml_stubs.c: $(SHIM_OBJS) shim/nvml_names.txt shim/gen_nvml_stubs.sh
	@mkdir -p $(dir $@)
	nm -g --defined-only $(SHIM_OBJS) | awk '{print $$3}' > $(B)/gen/nvml_defined.txt
	sh shim/gen_nvml_stubs.sh $(B)/gen/nvml_defined.txt shim/nvml_names.txt > $@

$(SHIM_LIB): $(SHIM_OBJS) $(B)/obj/gen/shim_stubs.o $(B)/obj/gen/nvml_stubs.o $(BF_WIRE_OBJS) $(BF_NET_OBJS) \
             $(BF_LEASE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libcuda.so.1 -Wl,--no-undefined $(LDFLAGS) -o $@ $^ $(SHIM_LIBS)
	ln -sf libcuda.so.1 $(dir $@)libcuda.so
	ln -sf libcuda.so.1 $(SHIM_NVML)
	ln -sf libcuda.so.1 $(dir $@)libnvidia-ml.so

.PHONY: shim
shim: $(SHIM_LIB)
all: $(SHIM_LIB)

install: install-shim
.PHONY: install-shim
install-shim: $(SHIM_LIB)
	install -d $(DESTDIR)$(PREFIX)/lib/bitfusion/client
	install -m 0755 $(SHIM_LIB) $(DESTDIR)$(PREFIX)/lib/bitfusion/client/libcuda.so.1
	ln -sf libcuda.so.1 $(DESTDIR)$(PREFIX)/lib/bitfusion/client/libcuda.so
	ln -sf libcuda.so.1 $(DESTDIR)$(PREFIX)/lib/bitfusion/client/libnvidia-ml.so.1
	ln -sf libcuda.so.1 $(DESTDIR)$(PREFIX)/lib/bitfusion/client/libnvidia-ml.so

# ---- remote tests -------------------------------------------------------------------------------
REMOTE_TEST_SRCS := $(wildcard tests/remote/test_*.c)
REMOTE_TEST_BINS := $(patsubst tests/remote/%.c,$(B)/tests/remote/%,$(REMOTE_TEST_SRCS))
BF_TEST_SERVER   := $(B)/tests/remote/bf_test_server

$(BF_TEST_SERVER): tests/remote/bf_test_server.c $(BF_SESSION_OBJS) $(BF_WIRE_OBJS) $(BF_NET_OBJS) | $(BF_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Iproto -Iserver -I$(BF_GENDIR) $(CFLAGS) -fvisibility=default -o $@ $^ \
	  $(LDFLAGS) $(BF_WIRE_LIBS) $(BF_NET_LIBS) -ldl

# Remote tests link the emu like tests/emu (rpath), and run with the client library preloaded.
$(B)/tests/remote/%: tests/remote/%.c $(TEST_COMMON) $(wildcard tests/common/*.h) $(EMU_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/common $(CFLAGS) -fvisibility=default -o $@ $< $(TEST_COMMON) \
	  -L$(dir $(EMU_LIB)) -Wl,-rpath,'$$ORIGIN/../../lib/bitfusion/emu' -l:libcuda.so.1 $(LDFLAGS) -lm

tests: $(BF_TEST_SERVER) $(REMOTE_TEST_BINS) $(SHIM_LIB)
.PHONY: test-remote
test-remote: tests $(SHIM_LIB) $(EMU_LIB)
	B=$(B) tests/remote/run_remote.sh
