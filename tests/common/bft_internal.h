/* bft_internal.h: declarations shared between the files of the test helper library only. */
#ifndef BFT_INTERNAL_H
#define BFT_INTERNAL_H
/* Frees what the finished case allocated (device and host buffers, modules, captures) and
 * releases its context. Errors are ignored. */
void bft_case_cleanup(void);
#endif
