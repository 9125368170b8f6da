/* eval_c.c — the reference block evaluator: plain C, NaN rules spelled out.
 * Compiled with -ffp-contract=off (project-wide), so a*b+c is never fused. */
#include "plan.h"

#include <math.h>
#include <string.h>

#include "cpu_clones.h"

/* The loops below are plain C over columns of a block; the compiler
 * vectorises them across rows (one row per lane, so each row keeps its exact
 * operation order), and MR_CLONES adds an AVX2 copy (cpu_clones.h). */
int mr_eval_simd(void)
{
#if MR_CLONES_ON
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

_Static_assert(sizeof(const double *) <= sizeof(double), "register addresses live in the scratch");

/* The register address table at the end of the scratch: op i's register (its
 * packed slot), or the input column of a LINEAR op (not copied); entry n_ops
 * is the 1.0 register. */
static const double **reg_table(const mr_plan *p, const double *x, size_t stride, double *scratch)
{
    const double **reg = (const double **)(void *)(scratch + (p->n_ops + 1) * MR_STRIDE);
    for (size_t i = 0; i < p->n_ops; i++)
        reg[i] = p->ops[i].code == MR_OP_LINEAR ? x + (size_t)p->ops[i].a * stride
               : p->cpu_skip[i]                 ? NULL /* a product the sum computes */
                                                : scratch + (size_t)p->cpu_slot[i] * MR_STRIDE;
    double *one = scratch + (size_t)p->cpu_slots * MR_STRIDE;
    for (size_t j = 0; j < MR_BLOCK; j++)
        one[j] = 1.0;
    reg[p->n_ops] = one;
    return reg;
}

/* Each kernel below is written once as an always-inline body and
 * instantiated twice: for a full block (a constant trip count: no loop
 * epilogue, unrolled) and for the short last block of a chunk. */
#define MR_INLINE static inline __attribute__((always_inline))

MR_INLINE void run_ops_body(const mr_plan *p, const double *x, size_t stride, size_t n, double *scratch,
                            const double *const *reg)
{
    for (size_t i = 0; i < p->n_ops; i++) {
        if (p->cpu_skip[i])
            continue;
        const mr_op *o = &p->ops[i];
        double *restrict r = scratch + (size_t)p->cpu_slot[i] * MR_STRIDE;
        const double *restrict xa = x + (size_t)o->a * stride;
        const double k = o->k;
        switch (o->code) {
        case MR_OP_LINEAR: /* skipped: the register is the input column */
            break;
        case MR_OP_HINGE_R:
            for (size_t j = 0; j < n; j++) {
                const double d = xa[j] - k;
                r[j] = d <= 0.0 ? 0.0 : d; /* maximum(0, d): NaN stays, -0.0 -> +0.0 */
            }
            break;
        case MR_OP_HINGE_L:
            for (size_t j = 0; j < n; j++) {
                const double d = k - xa[j];
                r[j] = d <= 0.0 ? 0.0 : d;
            }
            break;
        case MR_OP_CAT:
            for (size_t j = 0; j < n; j++)
                r[j] = xa[j] != xa[j] ? xa[j] : (xa[j] == k ? 1.0 : 0.0);
            break;
        case MR_OP_MISS:
            for (size_t j = 0; j < n; j++)
                r[j] = xa[j] != xa[j] ? 1.0 : 0.0;
            break;
        case MR_OP_MUL: {
            const double *restrict a = reg[o->a];
            const double *restrict b = reg[o->b];
            for (size_t j = 0; j < n; j++)
                r[j] = a[j] * b[j];
            break;
        }
        }
    }
}

/* acc[j] = ((acc[j] + c0*b0[j]) + c1*b1[j]) + ...: four terms per pass over
 * the rows, the per-row order unchanged, a quarter of the acc traffic. */
MR_INLINE void accumulate4_body(double *restrict acc, const double *restrict b0, const double *restrict b1,
                                const double *restrict b2, const double *restrict b3, const double *c,
                                size_t n)
{
    const double c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
    for (size_t j = 0; j < n; j++) {
        double a = acc[j];
        a = a + c0 * b0[j];
        a = a + c1 * b1[j];
        a = a + c2 * b2[j];
        a = a + c3 * b3[j];
        acc[j] = a;
    }
}

/* The same when some of the four terms are products the sum computes
 * (plan.h: term_b); a term that is not has v = the 1.0 register, and
 * u * 1.0 == u exactly (NaN and -0.0 included). */
MR_INLINE void accumulate4_mul_body(double *restrict acc, const double *const *u, const double *const *v,
                                    const double *c, size_t n)
{
    const double c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
    const double *restrict u0 = u[0], *restrict u1 = u[1], *restrict u2 = u[2], *restrict u3 = u[3];
    const double *restrict v0 = v[0], *restrict v1 = v[1], *restrict v2 = v[2], *restrict v3 = v[3];
    for (size_t j = 0; j < n; j++) {
        double a = acc[j];
        a = a + c0 * (u0[j] * v0[j]);
        a = a + c1 * (u1[j] * v1[j]);
        a = a + c2 * (u2[j] * v2[j]);
        a = a + c3 * (u3[j] * v3[j]);
        acc[j] = a;
    }
}

MR_CLONES static void run_ops(const mr_plan *p, const double *x, size_t stride, size_t n, double *scratch,
                              const double *const *reg)
{
    if (n == MR_BLOCK)
        run_ops_body(p, x, stride, MR_BLOCK, scratch, reg);
    else
        run_ops_body(p, x, stride, n, scratch, reg);
}

MR_CLONES static void accumulate4(double *restrict acc, const double *restrict b0, const double *restrict b1,
                                  const double *restrict b2, const double *restrict b3, const double *c,
                                  size_t n)
{
    if (n == MR_BLOCK)
        accumulate4_body(acc, b0, b1, b2, b3, c, MR_BLOCK);
    else
        accumulate4_body(acc, b0, b1, b2, b3, c, n);
}

MR_CLONES static void accumulate4_mul(double *restrict acc, const double *const *u, const double *const *v,
                                      const double *c, size_t n)
{
    if (n == MR_BLOCK)
        accumulate4_mul_body(acc, u, v, c, MR_BLOCK);
    else
        accumulate4_mul_body(acc, u, v, c, n);
}

/* One NaN for every NaN: IEEE 754 leaves open which operand's NaN an
 * operation returns and the sign of a NaN it creates (x86: the first
 * operand's; -NaN for 0 * inf), and compilers commute a + b and a * b, so the
 * bits of a NaN result could depend on a row's place in a block or on the
 * device. Every NaN value leaves the evaluators as +NaN (0x7ff8000000000000):
 * binary output is then byte-identical whatever the threads, chunks or device. */
static const uint64_t canonical_nan = 0x7ff8000000000000u;

MR_CLONES static void canonical_nans(double *v, size_t n)
{
    const int64_t exp = 0x7ff0000000000000, abs = 0x7fffffffffffffff;
    for (size_t j = 0; j < n; j++) {
        int64_t u;
        memcpy(&u, &v[j], sizeof u);
        u = (u & abs) > exp ? (int64_t)canonical_nan : u;
        memcpy(&v[j], &u, sizeof u);
    }
}

/* Not cloned itself: clang (14) emits no external symbol for a
 * target_clones function that other files call. */
void mr_canonical_nans(double *v, size_t n)
{
    canonical_nans(v, n);
}

static inline double canonical(double v)
{
    if (v != v)
        memcpy(&v, &canonical_nan, sizeof v);
    return v;
}

void mr_eval_predict(const mr_plan *p, const double *x, size_t stride, size_t n,
                     double *scratch, double *out)
{
    const double **reg = reg_table(p, x, stride, scratch);
    run_ops(p, x, stride, n, scratch, reg);
    for (size_t j = 0; j < n; j++)
        out[j] = 0.0;
    size_t i = 0;
    for (; i + 4 <= p->n_terms; i += 4) { /* canonical order: term by term */
        const double *u[4], *v[4];
        int products = 0;
        for (int k = 0; k < 4; k++) {
            const uint32_t b = p->term_b[i + k];
            u[k] = reg[p->term_a[i + k]];
            v[k] = reg[b != MR_REG_ONE ? b : p->n_ops];
            products |= b != MR_REG_ONE;
        }
        if (products)
            accumulate4_mul(out, u, v, p->coef + i, n);
        else
            accumulate4(out, u[0], u[1], u[2], u[3], p->coef + i, n);
    }
    for (; i < p->n_terms; i++) {
        const double c = p->coef[i];
        const double *restrict u = reg[p->term_a[i]];
        if (p->term_b[i] != MR_REG_ONE) {
            const double *restrict v = reg[p->term_b[i]];
            for (size_t j = 0; j < n; j++)
                out[j] = out[j] + c * (u[j] * v[j]);
        } else {
            for (size_t j = 0; j < n; j++)
                out[j] = out[j] + c * u[j];
        }
    }
    canonical_nans(out, n);
}

void mr_eval_design(const mr_plan *p, const double *x, size_t stride, size_t n,
                    double *scratch, double *out, size_t ld_out)
{
    const double **reg = reg_table(p, x, stride, scratch);
    run_ops(p, x, stride, n, scratch, reg);
    for (size_t i = 0; i < p->n_terms; i++) {
        const double *u = reg[p->term_a[i]];
        if (p->term_b[i] != MR_REG_ONE) {
            const double *v = reg[p->term_b[i]];
            for (size_t j = 0; j < n; j++)
                out[j * ld_out + i] = canonical(u[j] * v[j]);
        } else {
            for (size_t j = 0; j < n; j++)
                out[j * ld_out + i] = canonical(u[j]);
        }
    }
}
