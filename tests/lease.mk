# tests/lease.mk: the lease and partition tests (issue 5; owner: tests/lease/). Driver-API programs
# tests/lease/*.c link libcuda.so.1 as tests/remote's do (the software GPU's, by rpath, so they also
# run on it directly; inside `bitfusion run`, or with LD_PRELOAD, the client library, whose soname is
# the same, answers instead); tests/lease/NAME.cu are CUDA runtime programs, built as NAME (nvcc's
# default: static cudart) and NAME.shared (-cudart shared). All go to $(B)/tests/lease/;
# tests/lease/run_lease.sh (a suite of tests/run.sh) runs them.
LEASE_DIR    := $(B)/tests/lease
LEASE_C_BINS := $(patsubst tests/lease/%.c,$(LEASE_DIR)/%,$(wildcard tests/lease/*.c))
LEASE_RT_BINS := $(patsubst tests/lease/%.cu,$(LEASE_DIR)/%,$(wildcard tests/lease/*.cu))
LEASE_BINS   := $(LEASE_C_BINS) $(LEASE_RT_BINS) $(LEASE_RT_BINS:=.shared)

$(LEASE_C_BINS): $(LEASE_DIR)/%: tests/lease/%.c $(EMU_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fvisibility=default -o $@ $< \
	  -L$(dir $(EMU_LIB)) -Wl,-rpath,'$$ORIGIN/../../lib/bitfusion/emu' -l:libcuda.so.1 $(LDFLAGS) -ldl

$(LEASE_RT_BINS): $(LEASE_DIR)/%: tests/lease/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) -o $@ $<
$(LEASE_RT_BINS:=.shared): $(LEASE_DIR)/%.shared: tests/lease/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) -cudart shared -o $@ $<

.PHONY: lease-tests test-lease
lease-tests: $(LEASE_BINS)
tests: $(LEASE_BINS)
test-lease: $(LEASE_BINS)
	B=$(B) tests/lease/run_lease.sh
