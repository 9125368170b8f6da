/* eval_c.c — the reference block evaluator: plain C, NaN rules spelled out.
 * Compiled with -ffp-contract=off (project-wide), so a*b+c is never fused. */
#include "plan.h"

#include <math.h>

static void run_ops(const mr_plan *p, const double *x, size_t stride, size_t n, double *reg)
{
    for (size_t i = 0; i < p->n_ops; i++) {
        const mr_op *o = &p->ops[i];
        double *restrict r = reg + i * MR_BLOCK;
        const double *restrict xa = x + (size_t)o->a * stride;
        const double k = o->k;
        switch (o->code) {
        case MR_OP_LINEAR:
            for (size_t j = 0; j < n; j++)
                r[j] = xa[j];
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
            const double *restrict a = reg + (size_t)o->a * MR_BLOCK;
            const double *restrict b = reg + (size_t)o->b * MR_BLOCK;
            for (size_t j = 0; j < n; j++)
                r[j] = a[j] * b[j];
            break;
        }
        }
    }
}

static const double *term_values(const mr_plan *p, size_t i, const double *reg)
{
    return reg + (p->term_reg[i] == MR_REG_ONE ? p->n_ops : p->term_reg[i]) * MR_BLOCK;
}

static void fill_one(const mr_plan *p, double *reg)
{
    double *one = reg + p->n_ops * MR_BLOCK;
    for (size_t j = 0; j < MR_BLOCK; j++)
        one[j] = 1.0;
}

void mr_eval_predict(const mr_plan *p, const double *x, size_t stride, size_t n,
                     double *scratch, double *out)
{
    run_ops(p, x, stride, n, scratch);
    fill_one(p, scratch);
    for (size_t j = 0; j < n; j++)
        out[j] = 0.0;
    for (size_t i = 0; i < p->n_terms; i++) { /* canonical order: term by term */
        const double c = p->coef[i];
        const double *restrict b = term_values(p, i, scratch);
        for (size_t j = 0; j < n; j++)
            out[j] = out[j] + c * b[j];
    }
}

void mr_eval_design(const mr_plan *p, const double *x, size_t stride, size_t n,
                    double *scratch, double *out, size_t ld_out)
{
    run_ops(p, x, stride, n, scratch);
    fill_one(p, scratch);
    for (size_t i = 0; i < p->n_terms; i++) {
        const double *b = term_values(p, i, scratch);
        for (size_t j = 0; j < n; j++)
            out[j * ld_out + i] = b[j];
    }
}
