# emu/rt_tests.mk: CUDA runtime programs on the software GPU (owner: emu/export_*.c, the
# export-table component that serves the runtime's private driver interface).
# Each tests/rt/NAME.cu is built
#   NAME.static    nvcc defaults (static cudart of the toolkit, CUDA 13)
#   NAME.shared    nvcc -cudart shared (libcudart.so.13)
#   NAME.static12  host object by nvcc -DRT12, linked with CUDA 12's libcudart_static.a   } when the
#   NAME.shared12  the same object linked with CUDA 12's libcudart.so.12                 } cu12 wheel is
# into $(B)/tests/rt/, and tests/rt/run_rt.sh (installed as $(B)/tests/emu/rt_runtime, so
# tests/run.sh runs it) runs each with LD_LIBRARY_PATH at the software GPU; the .shared programs run
# a second time on the newest libcudart.so.13 wheel when it is installed. CUDA 12 and the newer 13
# come from pip: nvidia-cuda-runtime-cu12 (libcudart.so.12, libcudart_static.a) and
# nvidia-cuda-runtime (nvidia/cu13/lib); CUDART12_DIR / CUDART13_DIR override where they are.
CXX          ?= g++
RT_DIR       := $(B)/tests/rt
RT_NAMES     := $(patsubst tests/rt/%.cu,%,$(wildcard tests/rt/*.cu))
RT_PYLIB      = $(shell $(PYTHON) -c 'import importlib, os; m = importlib.import_module("$(1)"); p = os.path.join(list(m.__path__)[0], "lib"); print(p if os.path.isdir(p) else "")' 2>/dev/null)
CUDART12_DIR ?= $(call RT_PYLIB,nvidia.cuda_runtime)
CUDART13_DIR ?= $(call RT_PYLIB,nvidia.cu13)
RT_BINS      := $(foreach n,$(RT_NAMES),$(RT_DIR)/$(n).static $(RT_DIR)/$(n).shared)
ifneq ($(wildcard $(CUDART12_DIR)/libcudart_static.a),)
RT_BINS      += $(foreach n,$(RT_NAMES),$(RT_DIR)/$(n).static12 $(RT_DIR)/$(n).shared12)
endif
RT_DEPS      := tests/rt/rt_check.h

$(RT_DIR)/%.static: tests/rt/%.cu $(RT_DEPS)
	@mkdir -p $(dir $@)
	$(NVCC) -o $@ $<
$(RT_DIR)/%.shared: tests/rt/%.cu $(RT_DEPS)
	@mkdir -p $(dir $@)
	$(NVCC) -cudart shared -o $@ $<
$(RT_DIR)/%.o12: tests/rt/%.cu $(RT_DEPS)
	@mkdir -p $(dir $@)
	$(NVCC) -DRT12 -c -o $@ $<
$(RT_DIR)/%.static12: $(RT_DIR)/%.o12
	$(CXX) -o $@ $< $(CUDART12_DIR)/libcudart_static.a -ldl -lpthread -lrt
$(RT_DIR)/%.shared12: $(RT_DIR)/%.o12
	$(CXX) -o $@ $< $(CUDART12_DIR)/libcudart.so.12 -ldl -lpthread
.PRECIOUS: $(RT_DIR)/%.o12

# The kernel corpus as runtime programs: tests/rt/rt_corpus_*.cu include tests/kernels/*.cu,
# tests/common/corpus_ref_*.c (the inputs and references they share with tests/emu/test_corpus_*.c) and
# tests/rt/rt_corpus.h. Each is compiled once, and that one object is linked all four ways (it
# calls cudaGetDeviceProperties only when the runtime it runs on is CUDA 13 or newer); static
# pattern rules, so that they take precedence over the pattern rules above.
RT_CORPUS      := $(patsubst tests/rt/%.cu,$(RT_DIR)/%,$(wildcard tests/rt/rt_corpus_*.cu))
RT_CORPUS_DEPS := tests/rt/rt_corpus.h $(RT_DEPS) $(wildcard tests/kernels/*.cu) $(wildcard tests/common/corpus_ref*)
$(RT_CORPUS:=.o): $(RT_DIR)/%.o: tests/rt/%.cu $(RT_CORPUS_DEPS)
	@mkdir -p $(dir $@)
	$(NVCC) -c -o $@ $<
$(RT_CORPUS:=.static): $(RT_DIR)/%.static: $(RT_DIR)/%.o
	$(NVCC) -o $@ $<
$(RT_CORPUS:=.shared): $(RT_DIR)/%.shared: $(RT_DIR)/%.o
	$(NVCC) -cudart shared -o $@ $<
$(RT_CORPUS:=.static12): $(RT_DIR)/%.static12: $(RT_DIR)/%.o
	$(CXX) -o $@ $< $(CUDART12_DIR)/libcudart_static.a -ldl -lpthread -lrt
$(RT_CORPUS:=.shared12): $(RT_DIR)/%.shared12: $(RT_DIR)/%.o
	$(CXX) -o $@ $< $(CUDART12_DIR)/libcudart.so.12 -ldl -lpthread

# Where the runner finds the runtimes at run time.
$(RT_DIR)/rt.env: FORCE_RT_ENV
	@mkdir -p $(dir $@)
	@printf 'CUDART12_DIR=%s\nCUDART13_DIR=%s\n' '$(CUDART12_DIR)' '$(CUDART13_DIR)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
.PHONY: FORCE_RT_ENV rt-tests

$(B)/tests/emu/rt_runtime: tests/rt/run_rt.sh $(RT_BINS) $(RT_DIR)/rt.env $(EMU_LIB)
	@mkdir -p $(dir $@)
	install -m 0755 $< $@

rt-tests: $(B)/tests/emu/rt_runtime
	$(B)/tests/emu/rt_runtime
tests: $(B)/tests/emu/rt_runtime

# The component's own test compiles its sources in (their symbols are hidden in the library).
EXPORT_SRCS := emu/export_tables.c emu/export_cls.c emu/export_cudart.c emu/export_integrity.c
$(B)/tests/emu/test_export_tables: tests/emu/test_export_tables.c $(EXPORT_SRCS) emu/export_tables.h \
                                   $(TEST_COMMON) $(wildcard tests/common/*.h) $(EMU_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/common $(CFLAGS) -fvisibility=default -o $@ $< $(EXPORT_SRCS) $(TEST_COMMON) \
	  -L$(dir $(EMU_LIB)) -Wl,-rpath,'$$ORIGIN/../../lib/bitfusion/emu' -l:libcuda.so.1 $(LDFLAGS) -lm -lzstd
