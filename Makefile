# bitfusion: top-level build. `make` builds everything into build/ (build-san/ with SANITIZE=1),
# `make test` runs every test, `make install PREFIX=... DESTDIR=...` installs the product layout.
PREFIX    ?= /usr/local
DESTDIR   ?=
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(shell command -v nvcc 2>/dev/null))
ifeq ($(CUDA_HOME),)
CUDA_HOME := /usr/local/cuda
endif
NVCC      ?= $(CUDA_HOME)/bin/nvcc
CC        ?= gcc
PYTHON    ?= python3

ifeq ($(SANITIZE),1)
B         ?= build-san
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B         ?= build
SANFLAGS  :=
endif

CPPFLAGS  := -Iinclude -Iemu -I$(CUDA_HOME)/include -D_GNU_SOURCE
CFLAGS    := -std=gnu11 -O2 -g -fPIC -pthread -Wall -Wextra -Werror -Wno-unused-parameter \
             -fvisibility=hidden $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS   := -pthread $(SANFLAGS)

EMU_SRCS  := $(wildcard emu/*.c)
EMU_OBJS  := $(patsubst %.c,$(B)/obj/%.o,$(EMU_SRCS))
EMU_LIB   := $(B)/lib/bitfusion/emu/libcuda.so.1
EMU_LIBS  := -lzstd -lm -ldl -lpthread

TEST_KERNELS := $(wildcard tests/kernels/*.cu)
TEST_FATBINS := $(patsubst tests/kernels/%.cu,$(B)/tests/kernels/%.fatbin,$(TEST_KERNELS))
TEST_SRCS    := $(wildcard tests/emu/test_*.c)
TEST_BINS    := $(patsubst tests/emu/%.c,$(B)/tests/emu/%,$(TEST_SRCS))
TEST_COMMON  := $(wildcard tests/common/*.c)
BENCH_SRCS   := $(wildcard bench/*.c)
BENCH_BINS   := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRCS))
DEMO         := $(B)/demo/demo $(B)/demo/demo_kernels.fatbin
BENCH_FATBINS := $(patsubst bench/%.cu,$(B)/bench/%.fatbin,$(wildcard bench/*.cu))

.PHONY: all emu tests bench bench-run bench-lease test install clean demo
all: emu tests bench $(DEMO)

emu: $(EMU_LIB)

$(B)/obj/%.o: %.c $(wildcard emu/*.h include/bitfusion/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Every driver function cuda.h declares that emu/ does not define gets a generated stub that logs
# its name once and returns CUDA_ERROR_NOT_SUPPORTED.
$(B)/gen/emu_stubs.c: $(EMU_OBJS) scripts/gen_stubs.py
	@mkdir -p $(dir $@)
	nm -g --defined-only $(EMU_OBJS) | awk '{print $$3}' > $(B)/gen/emu_defined.txt
	$(PYTHON) scripts/gen_stubs.py $(CUDA_HOME)/include/cuda.h $(B)/gen/emu_defined.txt emu_log_unimplemented > $@

$(B)/obj/gen/emu_stubs.o: $(B)/gen/emu_stubs.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-unused-parameter -c $< -o $@

$(EMU_LIB): $(EMU_OBJS) $(B)/obj/gen/emu_stubs.o
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libcuda.so.1 -Wl,--no-undefined $(LDFLAGS) -o $@ $^ $(EMU_LIBS)
	ln -sf libcuda.so.1 $(dir $@)libcuda.so

# Test kernels are built by nvcc with default options.
$(B)/tests/kernels/%.fatbin: tests/kernels/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) -fatbin $< -o $@

$(B)/tests/emu/%: tests/emu/%.c $(TEST_COMMON) $(wildcard tests/common/*.h) $(EMU_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/common $(CFLAGS) -fvisibility=default -o $@ $< $(TEST_COMMON) \
	  -L$(dir $(EMU_LIB)) -Wl,-rpath,'$$ORIGIN/../../lib/bitfusion/emu' -l:libcuda.so.1 $(LDFLAGS) -lm -lzstd

$(B)/bench/%: bench/%.c $(EMU_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/common $(CFLAGS) -fvisibility=default -o $@ $< \
	  -L$(dir $(EMU_LIB)) -Wl,-rpath,'$$ORIGIN/../lib/bitfusion/emu' -l:libcuda.so.1 $(LDFLAGS) -lm

$(B)/bench/%.fatbin: bench/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) -fatbin $< -o $@

tests: $(TEST_FATBINS) $(TEST_BINS)
bench: $(BENCH_BINS) $(BENCH_FATBINS)

# Figures for bench/RESULTS.md and the README.
bench-run: bench
	$(B)/bench/bench_emu

# What leasing costs a program (bench/bench_lease.sh).
bench-lease: all
	B=$(B) bench/bench_lease.sh

test: all
	@B=$(B) tests/run.sh

$(B)/demo/demo: tests/demo/demo.c $(EMU_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fvisibility=default -o $@ $< -L$(dir $(EMU_LIB)) -l:libcuda.so.1 $(LDFLAGS) -lm
$(B)/demo/demo_kernels.fatbin: tests/demo/demo_kernels.cu
	@mkdir -p $(dir $@)
	$(NVCC) -fatbin $< -o $@

demo: all
	@B=$(B) tests/demo/demo.sh

# Components add their rules in their own fragment (shim/shim.mk, server/server.mk, ...).
-include $(sort $(wildcard */*.mk))

install: all
	install -d $(DESTDIR)$(PREFIX)/lib/bitfusion/emu
	install -m 0755 $(EMU_LIB) $(DESTDIR)$(PREFIX)/lib/bitfusion/emu/libcuda.so.1
	ln -sf libcuda.so.1 $(DESTDIR)$(PREFIX)/lib/bitfusion/emu/libcuda.so

clean:
	rm -rf build build-san

# ---- fatbin decoder: test fixtures and fuzz target (owner: emu/fatbin.c) --------------------
# Fixtures are generated, never committed: tests/fixtures/*.cu built with each nvcc compression
# mode and arch combination into $(B)/tests/fixtures/. test_fatbin compiles emu/fatbin.c and
# emu/lz4.c in directly (it reads the executables' sections with libelf), so it has its own rule.
FATBIN_FIX      := $(B)/tests/fixtures
FATBINARY       ?= $(CUDA_HOME)/bin/fatbinary
FATBIN_K_VARIANTS := none default speed balance size all speed_all debug sm80 75_90 90 90a 90_90a 100f lto80
FATBIN_FIXTURES := $(patsubst %,$(FATBIN_FIX)/k.%.fatbin,$(FATBIN_K_VARIANTS)) \
                   $(FATBIN_FIX)/k.ptx $(FATBIN_FIX)/k.sm80.cubin \
                   $(patsubst %,$(FATBIN_FIX)/big.%.fatbin,none default speed) $(FATBIN_FIX)/big.ptx \
                   $(FATBIN_FIX)/multi.fatbin $(FATBIN_FIX)/exe $(FATBIN_FIX)/rdc
FATBIN_FLAGS_none      := --compress-mode=none
FATBIN_FLAGS_default   :=
FATBIN_FLAGS_speed     := --compress-mode=speed
FATBIN_FLAGS_balance   := --compress-mode=balance
FATBIN_FLAGS_size      := --compress-mode=size
FATBIN_FLAGS_all       := -Xfatbin -compress-all
FATBIN_FLAGS_speed_all := --compress-mode=speed -Xfatbin -compress-all
FATBIN_FLAGS_debug     := -G
FATBIN_FLAGS_sm80      := -gencode arch=compute_80,code=sm_80
FATBIN_FLAGS_75_90     := -gencode arch=compute_75,code=compute_75 -gencode arch=compute_90,code=compute_90
FATBIN_FLAGS_90        := -gencode arch=compute_90,code=compute_90
FATBIN_FLAGS_90a       := -gencode arch=compute_90a,code=compute_90a
FATBIN_FLAGS_90_90a    := -gencode arch=compute_90,code=compute_90 -gencode arch=compute_90a,code=compute_90a
FATBIN_FLAGS_100f      := -gencode arch=compute_100f,code=compute_100f
FATBIN_FLAGS_lto80     := -rdc=true -gencode arch=compute_80,code=lto_80
FATBIN_BIG_MODE_none    := none
FATBIN_BIG_MODE_default := default
FATBIN_BIG_MODE_speed   := speed

$(FATBIN_FIX)/k.%.fatbin: tests/fixtures/fatbin_k.cu
	@mkdir -p $(dir $@)
	$(NVCC) -fatbin $(FATBIN_FLAGS_$*) $< -o $@
$(FATBIN_FIX)/k.ptx: tests/fixtures/fatbin_k.cu
	@mkdir -p $(dir $@)
	$(NVCC) -ptx $< -o $@
$(FATBIN_FIX)/k.sm80.cubin: tests/fixtures/fatbin_k.cu
	@mkdir -p $(dir $@)
	$(NVCC) -cubin -arch=sm_80 $< -o $@
$(FATBIN_FIX)/big.ptx: tests/fixtures/gen_big_ptx.sh
	@mkdir -p $(dir $@)
	sh $< > $@
$(FATBIN_FIX)/big.%.fatbin: $(FATBIN_FIX)/big.ptx
	$(FATBINARY) --create=$@ -64 --compress-mode=$(FATBIN_BIG_MODE_$*) --image3=kind=ptx,sm=75,file=$<
$(FATBIN_FIX)/rdc_%.ptx: tests/fixtures/fatbin_rdc_%.cu
	@mkdir -p $(dir $@)
	$(NVCC) -ptx -rdc=true $< -o $@
$(FATBIN_FIX)/multi.fatbin: $(FATBIN_FIX)/rdc_a.ptx $(FATBIN_FIX)/rdc_b.ptx
	$(FATBINARY) --create=$@ -64 $(foreach p,$^,--image3=kind=ptx,sm=75,file=$(p))
$(FATBIN_FIX)/exe: tests/fixtures/fatbin_exe.cu
	@mkdir -p $(dir $@)
	$(NVCC) $< -o $@
$(FATBIN_FIX)/rdc: tests/fixtures/fatbin_rdc_a.cu tests/fixtures/fatbin_rdc_b.cu
	@mkdir -p $(dir $@)
	$(NVCC) -rdc=true $^ -o $@

$(B)/tests/emu/test_fatbin: tests/emu/test_fatbin.c emu/fatbin.c emu/lz4.c emu/fatbin.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fvisibility=default -o $@ $< $(LDFLAGS) -lzstd -lelf

tests: $(FATBIN_FIXTURES)
.PHONY: fatbin-fixtures test-fatbin
fatbin-fixtures: $(FATBIN_FIXTURES)
test-fatbin: $(B)/tests/emu/test_fatbin $(FATBIN_FIXTURES)
	$(B)/tests/emu/test_fatbin

# `make fuzz-fatbin` builds the libFuzzer target; `make fuzz-fatbin-run` runs it for
# FUZZ_SECONDS seeded with the small fixtures.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FATBIN_FUZZ  := $(B)/fuzz/fuzz_fatbin
.PHONY: fuzz-fatbin fuzz-fatbin-run
fuzz-fatbin: $(FATBIN_FUZZ)
$(FATBIN_FUZZ): tests/fuzz/fuzz_fatbin.c emu/fatbin.c emu/lz4.c emu/fatbin.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -o $@ tests/fuzz/fuzz_fatbin.c emu/fatbin.c emu/lz4.c -lzstd
fuzz-fatbin-run: $(FATBIN_FUZZ) $(FATBIN_FIXTURES)
	@mkdir -p $(B)/fuzz/corpus_fatbin $(B)/fuzz/seeds_fatbin
	cp $(filter-out $(FATBIN_FIX)/big.% $(FATBIN_FIX)/exe $(FATBIN_FIX)/rdc,$(FATBIN_FIXTURES)) $(B)/fuzz/seeds_fatbin/
	$(FATBIN_FUZZ) -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=10 -rss_limit_mb=4096 \
	  $(B)/fuzz/corpus_fatbin $(B)/fuzz/seeds_fatbin

# `make fuzz-ptx` builds the libFuzzer target for the PTX parser; `make fuzz-ptx-run` runs it for
# FUZZ_SECONDS seeded with the PTX of the test kernels.
PTX_FUZZ := $(B)/fuzz/fuzz_ptx
PTX_FUZZ_SRCS := emu/ptx_parse.c emu/ptx_module.c emu/ptx_lex.c emu/ptx_decode.c emu/ptx_exec.c emu/ptx_ops_int.c \
                 emu/ptx_ops_float.c emu/ptx_ops_mem.c emu/ptx_ops_warp.c emu/ptx_printf.c
.PHONY: fuzz-ptx fuzz-ptx-run
fuzz-ptx: $(PTX_FUZZ)
$(PTX_FUZZ): tests/fuzz/fuzz_ptx.c $(PTX_FUZZ_SRCS) $(wildcard emu/ptx*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -o $@ tests/fuzz/fuzz_ptx.c $(PTX_FUZZ_SRCS) -lm -lpthread
fuzz-ptx-run: $(PTX_FUZZ)
	@mkdir -p $(B)/fuzz/corpus_ptx $(B)/fuzz/seeds_ptx
	for f in $(TEST_KERNELS); do $(NVCC) -ptx $$f -o $(B)/fuzz/seeds_ptx/$$(basename $$f .cu).ptx; done
	$(PTX_FUZZ) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
	  $(B)/fuzz/corpus_ptx $(B)/fuzz/seeds_ptx
