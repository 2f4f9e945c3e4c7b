/* ptx_ir.h: the interpreter's pre-decoded form of a PTX module and its execution state.
 * ptx_parse.c builds it from text, ptx_decode.c turns each instruction into a ptx_insn with
 * a handler, ptx_exec.c runs warps of lanes over it, ptx_ops_*.c are the handlers. */
#ifndef BF_EMU_PTX_IR_H
#define BF_EMU_PTX_IR_H
#include <stdint.h>
#include <stddef.h>
#include <pthread.h>
#include "ptx.h"

/* ---- types -------------------------------------------------------------------------------- */
enum ptx_type {
    T_NONE = 0, T_PRED,
    T_B8, T_B16, T_B32, T_B64, T_B128,
    T_U8, T_U16, T_U32, T_U64,
    T_S8, T_S16, T_S32, T_S64,
    T_F16, T_F16X2, T_BF16, T_BF16X2, T_F32, T_F64,
    T_COUNT
};
int ptx_type_size(int t);            /* bytes */
int ptx_type_is_float(int t);
int ptx_type_is_signed(int t);

/* State spaces of memory operands. */
enum ptx_sp { SP_GENERIC = 0, SP_GLOBAL, SP_SHARED, SP_LOCAL, SP_CONST, SP_PARAM_KERNEL, SP_PARAM_FRAME, SP_COUNT };

/* Symbol kinds an operand can name. */
enum ptx_symk { SYMK_NONE = 0, SYMK_GLOBAL, SYMK_SHARED, SYMK_LOCAL, SYMK_KPARAM, SYMK_FPARAM, SYMK_FUNC };

/* Operand kinds. */
enum ptx_opk { OPK_NONE = 0, OPK_REG, OPK_IMM, OPK_VEC, OPK_ADDR, OPK_SYM, OPK_SINK, OPK_SREG, OPK_LIST };

typedef struct ptx_opnd {
    uint8_t kind;
    uint8_t n;               /* OPK_VEC: element count */
    uint8_t symk;            /* OPK_ADDR/OPK_SYM: kind of symbol, SYMK_NONE when absent */
    uint8_t neg;             /* OPK_REG: predicate operand written !%p */
    int32_t sym;             /* symbol index in its table (module globals / shared vars), -1 none */
    int32_t reg;             /* OPK_REG: register; OPK_ADDR: base register or -1 */
    int32_t vec[4];          /* OPK_VEC: registers (-1 = sink or immediate in vimm) */
    uint64_t imm;            /* OPK_IMM: value bits; OPK_ADDR/OPK_SYM: byte offset */
} ptx_opnd;

/* Instruction modifier bits (ptx_insn.mods). */
enum {
    M_FTZ = 1u << 0, M_SAT = 1u << 1, M_APPROX = 1u << 2, M_FULL = 1u << 3,
    M_RN = 1u << 4, M_RZ = 1u << 5, M_RM = 1u << 6, M_RP = 1u << 7,
    M_RNI = 1u << 8, M_RZI = 1u << 9, M_RMI = 1u << 10, M_RPI = 1u << 11,
    M_HI = 1u << 12, M_LO = 1u << 13, M_WIDE = 1u << 14, M_CC = 1u << 15,
    M_UNI = 1u << 16, M_NAN = 1u << 17, M_RELU = 1u << 18, M_SHIFTAMT = 1u << 19,
    M_CLAMP = 1u << 20, M_WRAP = 1u << 21, M_XORSIGN = 1u << 22, M_ABS = 1u << 23,
};
#define M_ROUND_MASK (M_RN | M_RZ | M_RM | M_RP | M_RNI | M_RZI | M_RMI | M_RPI)

/* Control-flow classes handled by the scheduler itself. */
enum ptx_ctl { CTL_NONE = 0, CTL_BRA, CTL_BRX, CTL_CALL, CTL_RET, CTL_EXIT, CTL_BAR, CTL_TRAP, CTL_BUILTIN };

struct ptx_warp;
struct ptx_insn;
typedef void (*ptx_exec_fn)(struct ptx_warp *w, const struct ptx_insn *in, uint32_t mask);

#define PTX_MAX_OPS 6
typedef struct ptx_insn {
    ptx_exec_fn fn;
    uint8_t ctl;
    uint8_t type, type2;     /* main type; second type (cvt source, setp combine...) */
    uint8_t space;           /* memory state space */
    uint8_t nops;
    uint8_t guard_neg;
    uint8_t sub;             /* sub-operation (compare op, atomic op, shfl mode, ...) */
    uint8_t sub2;            /* second sub-operation (setp boolean combine, ...) */
    uint32_t mods;
    int32_t guard;           /* predicate register, -1 when unguarded */
    uint32_t target;         /* branch target pc, callee function index, barrier kind... */
    uint32_t aux;            /* extra: vector width, access size, branch table index */
    int line;                /* PTX source line for messages */
    ptx_opnd op[PTX_MAX_OPS];
} ptx_insn;

/* Special registers that are constant for a lane within a launch: kept in pseudo-registers
 * initialised when a frame starts. */
enum ptx_sreg {
    SR_TID_X, SR_TID_Y, SR_TID_Z, SR_NTID_X, SR_NTID_Y, SR_NTID_Z,
    SR_CTAID_X, SR_CTAID_Y, SR_CTAID_Z, SR_NCTAID_X, SR_NCTAID_Y, SR_NCTAID_Z,
    SR_LANEID, SR_WARPID, SR_NWARPID, SR_SMID, SR_NSMID, SR_GRIDID,
    SR_LANEMASK_EQ, SR_LANEMASK_LT, SR_LANEMASK_LE, SR_LANEMASK_GT, SR_LANEMASK_GE,
    SR_DYN_SMEM, SR_TOTAL_SMEM, SR_WARPSZ,
    SR_COUNT_STATIC,
    SR_CLOCK = SR_COUNT_STATIC, SR_CLOCK64, SR_GLOBALTIMER, SR_GLOBALTIMER_LO, SR_GLOBALTIMER_HI,
    SR_COUNT
};

typedef struct ptx_sreg_use { int32_t reg; int32_t sreg; } ptx_sreg_use;
typedef struct ptx_const_use { int32_t reg; uint64_t value; } ptx_const_use;

/* Function "addresses" as device code sees them (function pointers, vtables). */
#define PTX_FUNC_ADDR_TAG 0xF00D000000000000ull
#define PTX_FUNC_ADDR(i) (PTX_FUNC_ADDR_TAG | ((uint64_t)(i) << 4))

/* An initializer of a module variable that holds another variable's address. */
typedef struct ptx_reloc { int target; uint64_t offset; int source; int64_t addend; } ptx_reloc;

/* A parameter of a function (.entry: kernel parameter buffer; .func: per-lane frame area). */
typedef struct ptx_param {
    char *name;
    uint32_t offset, size, align;
} ptx_param;

typedef struct ptx_brtable { uint32_t n; uint32_t *pcs; } ptx_brtable;

/* A call site: argument and return .param locations in the caller's frame. */
typedef struct ptx_callsite {
    int callee;
    int nargs, nrets;
    uint32_t *arg_off;       /* caller frame offsets of the argument params */
    uint32_t *ret_off;       /* caller frame offsets of the return params */
} ptx_callsite;

struct ptx_func {
    char *name;
    int is_entry, is_extern, builtin;   /* builtin: BI_* for vprintf, __assertfail, ... */
    ptx_module *mod;
    int index;
    ptx_param *params; int nparams;     /* formal parameters */
    ptx_param *rets; int nrets;         /* return parameters (.func) */
    uint32_t kparam_bytes;              /* .entry: packed parameter buffer size */
    ptx_insn *code; uint32_t ncode;
    uint32_t nregs;                     /* registers incl. special pseudo-registers */
    ptx_sreg_use *sregs; int nsregs;
    ptx_const_use *consts; int nconsts;
    uint32_t frame_bytes;               /* per-lane local frame: depot + params + call scratch */
    uint32_t fparam_base;               /* offset of the incoming formals inside the frame */
    uint32_t fret_base;                 /* offset of the return values inside the frame */
    ptx_brtable *brtabs; int nbrtabs;
    ptx_callsite *calls; int ncalls;
    int *callees; int ncallees;         /* function indices called directly */
    int *shared_used; int nshared_used; /* shared symbols referenced directly */
    int uses_dyn_smem;
    /* per-entry launch layout (entries only) */
    uint32_t *shared_off;               /* offset of each module shared symbol, for this entry */
    uint32_t static_smem;
    uint32_t max_stack;                 /* per-lane local bytes incl. callee frames (worst case) */
    int recursive;
    unsigned maxntid[3]; int reqntid; unsigned minnctapersm;
};

typedef struct ptx_gvar {
    char *name;
    int space;               /* PTX_SPACE_GLOBAL / PTX_SPACE_CONST */
    size_t size, align;
    uint8_t *init;           /* NULL: zero */
    int is_extern;
    uint64_t addr;           /* bound device address */
} ptx_gvar;

typedef struct ptx_svar {    /* module-scope or function-scope .shared variable */
    char *name;
    size_t size, align;
    int is_extern;           /* dynamic shared memory (size 0) */
} ptx_svar;

struct ptx_module {
    ptx_func **funcs; int nfuncs;
    ptx_gvar *gvars; int ngvars;
    ptx_svar *svars; int nsvars;
    ptx_reloc *relocs; int nrelocs;
    int relocs_done;
    pthread_mutex_t reloc_lock;
    int version_major, version_minor;
    int target_sm;
};

/* ---- execution state --------------------------------------------------------------------- */
#define PTX_WARP 32
#define PTX_MAX_BARRIERS 16

typedef struct ptx_frame {
    const ptx_func *fn;
    uint64_t *regs;          /* nregs * 32 */
    uint32_t pc[PTX_WARP];
    uint32_t members;        /* lanes in this frame */
    uint32_t done;           /* lanes that returned */
    uint32_t fbase;          /* byte offset of this frame in each lane's local region */
    uint32_t ret_pc;         /* caller pc to resume at */
    const ptx_insn *call;    /* call instruction in the caller (for return values) */
} ptx_frame;

typedef struct ptx_block ptx_block;

typedef struct ptx_warp {
    ptx_block *blk;
    int id;
    uint32_t valid;          /* lanes that exist */
    uint32_t exited;
    uint32_t blocked;        /* waiting at a barrier */
    uint32_t finished;       /* 1 when every lane has exited */
    uint64_t *regs;          /* top frame's registers (cached) */
    uint32_t fbase;          /* top frame's local base (cached) */
    ptx_frame *frames; int nframes, cap_frames;
    uint64_t *regpool; size_t regpool_used, regpool_cap;  /* register frames, stack-allocated */
    uint8_t *local;          /* 32 lane regions of local_cap bytes */
    uint32_t local_cap;
    uint32_t carry;          /* per-lane carry flag bits for add.cc/addc */
    int8_t bar_id[PTX_WARP];       /* barrier a blocked lane waits on */
    int32_t bar_dst[PTX_WARP];     /* bar.red destination register or -1 */
    uint64_t lo_cache, hi_cache;   /* last global allocation hit */
    int stop;                      /* fault raised */
    uint64_t issued;               /* instructions issued in the current slice */
    unsigned tid[PTX_WARP][3];
} ptx_warp;

typedef struct ptx_grid ptx_grid;

struct ptx_block {
    ptx_grid *grid;
    unsigned ctaid[3];
    ptx_warp *warps; int nwarps;
    uint8_t *smem; uint32_t smem_size;
    uint32_t nthreads;
    uint32_t exited_threads;
    uint32_t bar_arrived[PTX_MAX_BARRIERS];
    uint32_t bar_expected[PTX_MAX_BARRIERS];   /* 0 = all non-exited threads */
    uint32_t bar_accum[PTX_MAX_BARRIERS];
    uint8_t bar_redop[PTX_MAX_BARRIERS];
    int worker;              /* host thread index (%smid) */
};

struct ptx_grid {
    ptx_func *fn;
    ptx_launch l;
    const uint8_t *params;
    uint32_t smem_total;
    uint32_t local_cap;
    volatile int abort;
    pthread_mutex_t fault_lock;
    ptx_fault fault;
    unsigned long long next_block, nblocks;
};

/* ---- shared helpers ---------------------------------------------------------------------- */
void ptx_raise(ptx_warp *w, CUresult code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Resolves a memory operand for one lane to a host pointer, checking bounds; NULL after a fault. */
void *ptx_mem_ptr(ptx_warp *w, int space, const ptx_opnd *o, int lane, uint32_t size, int is_store);
/* Translate a generic/state-space address for a lane to a host pointer (NULL + fault when invalid). */
void *ptx_addr_ptr(ptx_warp *w, int space, uint64_t addr, int lane, uint32_t size, int is_store);
uint64_t ptx_opnd_addr(ptx_warp *w, const ptx_opnd *o, int lane);

/* float16 / bfloat16 conversions */
float ptx_h2f(uint16_t h);
uint16_t ptx_f2h_rn(float f);
uint16_t ptx_f2h(double d, int rmode);
float ptx_bf2f(uint16_t h);
uint16_t ptx_f2bf(double d, int rmode);

/* decode entry point (ptx_decode.c) */
struct ptx_raw_insn;
int ptx_decode_known(const char *opcode);
/* After parsing: shared-memory layout and stack size of an entry (ptx_module.c). */
void ptx_layout_entry(ptx_module *m, ptx_func *f);
int ptx_decode_insn(ptx_module *m, ptx_func *f, const char *opcode, ptx_insn *in, char *err, size_t errlen);

/* printf (ptx_printf.c) */
void ptx_vprintf(ptx_warp *w, int lane, uint64_t fmt, uint64_t args);

/* register access */
#define REG(w, r) ((w)->regs + (size_t)(r) * PTX_WARP)
#endif
