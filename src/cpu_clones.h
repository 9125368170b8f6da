/* cpu_clones.h — MR_CLONES: build a function twice, for AVX2 and for the
 * baseline ISA, and pick one at load time (ifunc). The loops in such functions
 * are plain C that the compiler vectorises; the AVX2 copy uses the same IEEE
 * operations (no FMA: -ffp-contract=off and no "fma" target), so both copies
 * give identical bits. Off under the sanitizers (their runtimes and ifuncs do
 * not mix) and with -DMR_NO_CLONES. */
#ifndef MR_CPU_CLONES_H
#define MR_CPU_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__) && !defined(MR_NO_CLONES)
#define MR_CLONES __attribute__((target_clones("avx2", "default")))
#define MR_CLONES_ON 1
#else
#define MR_CLONES
#define MR_CLONES_ON 0
#endif

#endif
