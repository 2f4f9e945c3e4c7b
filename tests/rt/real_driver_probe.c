/* real_driver_probe.c: a device check, not part of `make test`: run on a machine with an NVIDIA
 * driver, it prints what the real driver's export tables do, to compare with emu/export_*.c: which
 * UUIDs are served before/after cuInit and their size headers, the integrity hash of the real
 * slot 1 against bf_export_integrity_hash (MATCH/MISMATCH, several versions), whether cudart
 * interface slot 2 retains the primary context, the context-local storage return codes and
 * destructor on cuDevicePrimaryCtxReset, the context-check and hook-buffer answers, and the codes
 * cuLaunchKernel gives for impossible configurations (cudart 13 passes them through).
 * Build: gcc -Iemu -I$CUDA/include -o probe tests/rt/real_driver_probe.c emu/export_tables.c
 *        emu/export_integrity.c emu/export_cls.c emu/export_cudart.c -L$CUDA/lib64/stubs -lcuda -lpthread
 * Then also run tests/rt/run_rt.sh with RT_REAL_DRIVER=1 to check the runtime tests' expectations. */
#include "export_tables.h"
#include <cuda.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *ids[][2] = {
 {"f8cff951-2146-8b4e-b9e2-fb469e7c0dd9","pre"},{"6bd5fb6c-5bf4-e74a-8987-d93912fd9df9","cudart"},
 {"a094798c-2e74-2e74-93f2-0800200c0a66","hooks"},{"42d85a81-23f6-cb47-8298-f6e78a3aecdc","tls"},
 {"c693336e-1121-df11-a8c3-68f355d89593","cls"},{"263e8860-7cd2-6143-92f6-bbd5006dfa7e","checks"},
 {"d4082055-bde6-704b-8d34-ba123c66e1f2","integrity"},{"21318c60-9714-3248-8ca6-41ff7324c8f2","c13"},
 {"0ca50b8c-1004-929a-89a7-d0df10e77286","bypass"},{"195bcbf4-d67d-024a-acc5-1d29cea631ae","heap"},
 {"b10541e1-f7c7-c74a-9f64-f223be99f1e2","devext"}};
static void parse(const char *s, CUuuid *u){ int k=0; for(const char*p=s;*p&&k<16;){ if(*p=='-'){p++;continue;} unsigned v; sscanf(p,"%2x",&v); u->bytes[k++]=(char)v; p+=2; } }
static const void *tbl(const char *s){ CUuuid u; parse(s,&u); const void *t=NULL; CUresult r=cuGetExportTable(&t,&u); if(r) printf("  table %s -> err %d\n", s, r); return t; }
static void dtor(CUcontext c, void *k, void *v){ printf("  cls dtor ctx=%p key=%p val=%p\n",(void*)c,k,v); }
static const char *ptx = ".version 7.0\n.target sm_50\n.address_size 64\n.visible .entry k(.param .u64 p){ ret; }\n";
int main(void){
  const void *t; CUuuid u;
  for (unsigned i=0;i<sizeof ids/sizeof ids[0];i++){ parse(ids[i][0],&u); t=NULL; CUresult r=cuGetExportTable(&t,&u);
    printf("pre-init %s %-10s rc=%d slot0=%lu\n", ids[i][0], ids[i][1], r, t? (unsigned long)((void*const*)t)[0]:0UL); }
  printf("cuInit %d\n", cuInit(0));
  int drv=0; cuDriverGetVersion(&drv); printf("driver version %d\n", drv);
  for (unsigned i=0;i<sizeof ids/sizeof ids[0];i++){ parse(ids[i][0],&u); t=NULL; CUresult r=cuGetExportTable(&t,&u);
    printf("post-init %s %-10s rc=%d slot0=%lu\n", ids[i][0], ids[i][1], r, t? (unsigned long)((void*const*)t)[0]:0UL);
    if (t && i==0) for (int s=0;s<8;s++) printf("   f8 slot %d = %p\n", s, ((void*const*)t)[s]); }
  /* integrity */
  void *const *it = tbl(ids[6][0]); void *const *ct = tbl(ids[1][0]);
  if (it && ct) {
    int n=0; cuDeviceGetCount(&n); bf_export_device_hash d[16]; memset(d,0,sizeof d);
    for (int i=0;i<n&&i<16;i++){ CUuuid uu; cuDeviceGetUuid_v2(&uu,i); memcpy(d[i].uuid,uu.bytes,16);
      cuDeviceGetAttribute(&d[i].pci_domain,CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID,i); cuDeviceGetAttribute(&d[i].pci_bus,CU_DEVICE_ATTRIBUTE_PCI_BUS_ID,i); cuDeviceGetAttribute(&d[i].pci_device,CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID,i);}
    unsigned vers[] = {13000, 13001, 13002, 12092, 13052, 12345};
    for (unsigned k=0;k<6;k++){ unsigned long long real[2]={0,0}, mine[2]={0,0}; unsigned long long ts=(unsigned long long)time(NULL);
      CUresult (*f)(unsigned, unsigned long long, unsigned long long*) = (void*)it[1];
      CUresult r = f(vers[k], ts, real);
      bf_export_integrity_hash(vers[k], ts, (unsigned)drv, (unsigned)getpid(), (unsigned)(unsigned long)pthread_self(), it, ct, it[1], d, n, mine);
      printf("integrity v=%u rc=%d real=%016llx%016llx mine=%016llx%016llx %s\n", vers[k], r, real[0], real[1], mine[0], mine[1], memcmp(real,mine,16)?"MISMATCH":"MATCH"); }
  }
  /* cudart slot 2: retain? */
  if (ct) { unsigned fl; int act=-1; cuDevicePrimaryCtxGetState(0,&fl,&act); printf("primary active before=%d\n",act);
    CUcontext c=NULL; CUresult (*g)(CUcontext*,CUdevice)=(void*)ct[2]; CUresult r=g(&c,0); cuDevicePrimaryCtxGetState(0,&fl,&act);
    printf("cudart slot2 rc=%d ctx=%p active after=%d\n", r, (void*)c, act);
    CUresult rr = cuDevicePrimaryCtxRelease(0); cuDevicePrimaryCtxGetState(0,&fl,&act); printf("release rc=%d active=%d\n", rr, act);
    rr = cuDevicePrimaryCtxRelease(0); printf("second release rc=%d\n", rr);
    for (int s=0;s<13;s++) printf("   cudart slot %d = %p\n", s, ct[s]); }
  CUcontext ctx; cuDevicePrimaryCtxRetain(&ctx,0); cuCtxSetCurrent(ctx);
  /* CLS */
  void *const *cls = tbl(ids[4][0]);
  if (cls) { CUresult (*put)(CUcontext,void*,void*,void*)=(void*)cls[0]; CUresult (*del)(CUcontext,void*)=(void*)cls[1]; CUresult (*get)(void**,CUcontext,void*)=(void*)cls[2];
    void *v=(void*)1; int key1, key2;
    printf("cls get absent rc=%d\n", get(&v, ctx, &key1));
    printf("cls get absent NULL ctx rc=%d\n", get(&v, NULL, &key1));
    printf("cls put rc=%d\n", put(ctx, &key1, (void*)0x55, (void*)dtor));
    printf("cls put2 NULL ctx rc=%d\n", put(NULL, &key2, (void*)0x66, (void*)dtor));
    v=0; { CUresult gr = get(&v, NULL, &key1); printf("cls get rc=%d v=%p\n", gr, v); }
    printf("cls del rc=%d\n", del(ctx, &key1));
    printf("cls del again rc=%d\n", del(ctx, &key1));
    printf("cls slot3=%p\n", cls[3]);
    printf("reset (expect key2 dtor):\n"); printf("reset rc=%d\n", cuDevicePrimaryCtxReset(0));
  }
  cuDevicePrimaryCtxRetain(&ctx,0); cuCtxSetCurrent(ctx);
  void *const *chk = tbl(ids[5][0]);
  if (chk) { unsigned r1=77; const void *r2=(void*)0x1; CUresult (*cc)(CUcontext,unsigned*,const void**)=(void*)chk[2]; CUresult r=cc(ctx,&r1,&r2); printf("ctx check rc=%d r1=%u r2=%p\n", r, r1, r2);
    unsigned (*f3)(void)=(void*)chk[3]; printf("check_fn3=%u\n", f3()); }
  void *const *hk = tbl(ids[2][0]);
  if (hk) { void *p=0; size_t sz=0; void (*b1)(void**,size_t*)=(void*)hk[2]; b1(&p,&sz); printf("hooks buf1 %p size %zu\n", p, sz); b1=(void*)hk[6]; b1(&p,&sz); printf("hooks buf2 %p size %zu\n", p, sz);
    for (int s=0;s<7;s++) printf("   hooks slot %d = %p\n", s, hk[s]); }
  void *const *tl = tbl(ids[3][0]); if (tl) for (int s=0;s<4;s++) printf("   tls slot %d = %p\n", s, tl[s]);
  /* launch config error */
  CUmodule m; CUfunction f; printf("modload %d\n", cuModuleLoadData(&m, ptx)); cuModuleGetFunction(&f, m, "k");
  CUdeviceptr dp; cuMemAlloc(&dp, 16); void *args[]={&dp};
  printf("launch 2048 threads rc=%d\n", cuLaunchKernel(f,1,1,1,2048,1,1,0,0,args,0));
  printf("launch 1<<30 smem rc=%d\n", cuLaunchKernel(f,1,1,1,32,1,1,1u<<30,0,args,0));
  printf("launch grid 0 rc=%d\n", cuLaunchKernel(f,0,1,1,32,1,1,0,0,args,0));
  printf("launch blockz 65 rc=%d\n", cuLaunchKernel(f,1,1,1,1,1,65,0,0,args,0));
  return 0;
}
