/* plan.c — compile a validated model into a flat plan (see plan.h). */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    mr_op *ops;
    size_t n, cap;
    uint32_t *slot;   /* open-addressing index of ops by (code, a, b, k): op + 1, 0 = empty */
    size_t slot_mask; /* slots - 1; slots a power of two, at least twice n */
} builder;

static size_t op_hash(mr_opcode code, uint32_t a, uint32_t b, double k)
{
    uint64_t kb;
    memcpy(&kb, &k, sizeof kb);
    uint64_t h = (uint64_t)code * 0x9E3779B97F4A7C15u;
    h = (h ^ a) * 0xBF58476D1CE4E5B9u;
    h = (h ^ b) * 0x94D049BB133111EBu;
    h = (h ^ kb) * 0x9E3779B97F4A7C15u;
    return (size_t)(h ^ (h >> 29));
}

static int same_op(const mr_op *o, mr_opcode code, uint32_t a, uint32_t b, double k)
{
    return o->code == code && o->a == a && o->b == b && memcmp(&o->k, &k, sizeof k) == 0;
}

/* Double the index (and the op array with it) before it is half full. */
static int grow(builder *bd)
{
    const size_t cap = bd->cap ? bd->cap * 2 : 64;
    mr_op *ops = realloc(bd->ops, cap * sizeof *ops);
    if (!ops)
        return -1;
    bd->ops = ops;
    bd->cap = cap;
    const size_t slots = 2 * cap;
    uint32_t *slot = calloc(slots, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t i = 0; i < bd->n; i++) {
        const mr_op *o = &bd->ops[i];
        size_t h = op_hash(o->code, o->a, o->b, o->k) & (slots - 1);
        while (slot[h])
            h = (h + 1) & (slots - 1);
        slot[h] = (uint32_t)i + 1;
    }
    free(bd->slot);
    bd->slot = slot;
    bd->slot_mask = slots - 1;
    return 0;
}

/* Structural sharing: the same (code, a, b, k) is the same value, so each
 * distinct op is emitted once; hashed, so a model of a million terms plans
 * in linear time (bench/hostile.py). k is compared by its bits. */
static uint32_t emit(builder *bd, mr_opcode code, uint32_t a, uint32_t b, double k, int *oom)
{
    if (bd->n == bd->cap && grow(bd) != 0) {
        *oom = 1;
        return 0;
    }
    size_t h = op_hash(code, a, b, k) & bd->slot_mask;
    for (; bd->slot[h]; h = (h + 1) & bd->slot_mask)
        if (same_op(&bd->ops[bd->slot[h] - 1], code, a, b, k))
            return bd->slot[h] - 1;
    bd->slot[h] = (uint32_t)bd->n + 1;
    bd->ops[bd->n] = (mr_op){ .code = code, .a = a, .b = b, .k = k };
    return (uint32_t)bd->n++;
}

static uint32_t mul(builder *bd, uint32_t l, uint32_t r, int *oom)
{
    if (l == MR_REG_ONE) /* 1.0 * v == v exactly, for NaN and -0.0 too */
        return r;
    if (r == MR_REG_ONE)
        return l;
    return emit(bd, MR_OP_MUL, l, r, 0.0, oom);
}

static uint32_t compile(builder *bd, const mr_term *t, int *oom)
{
    if (t->kind == MR_KIND_INTERACTION) {
        const uint32_t l = compile(bd, t->parent1, oom);
        const uint32_t r = compile(bd, t->parent2, oom);
        return mul(bd, l, r, oom);
    }
    const uint32_t parent = t->parent1 ? compile(bd, t->parent1, oom) : MR_REG_ONE;
    const uint32_t v = (uint32_t)t->var;
    uint32_t own;
    switch (t->kind) {
    case MR_KIND_CONSTANT: own = MR_REG_ONE; break;
    case MR_KIND_LINEAR: own = emit(bd, MR_OP_LINEAR, v, 0, 0.0, oom); break;
    case MR_KIND_HINGE:
        own = emit(bd, t->right ? MR_OP_HINGE_R : MR_OP_HINGE_L, v, 0, t->knot, oom);
        break;
    case MR_KIND_CATEGORICAL: own = emit(bd, MR_OP_CAT, v, 0, t->category, oom); break;
    case MR_KIND_MISSINGNESS: own = emit(bd, MR_OP_MISS, v, 0, 0.0, oom); break;
    default: own = MR_REG_ONE; break; /* unreachable: the loader rejects other kinds */
    }
    return mul(bd, parent, own, oom); /* parent on the left (docs/SEMANTICS.md §2) */
}

static int is_hinge(const mr_op *o)
{
    return o->code == MR_OP_HINGE_R || o->code == MR_OP_HINGE_L;
}

/* Term i's value computes hinge op h itself (plan.h): u is the other factor. */
static void fuse_hinge(mr_plan *p, size_t i, uint32_t u, uint32_t h)
{
    p->cpu_skip[h] = 1;
    p->term_a[i] = u;
    p->term_b[i] = p->ops[h].a;
    p->term_hinge[i] = p->ops[h].code == MR_OP_HINGE_R ? 1 : 2;
    p->term_k[i] = p->ops[h].k;
}

/* Register r as a column (plan.h: MR_COL_*). */
static void column_of(const mr_plan *p, uint32_t r, uint8_t *src, uint32_t *idx)
{
    if (r == p->n_ops) {
        *src = MR_COL_ONE;
        *idx = 0;
    } else if (p->ops[r].code == MR_OP_LINEAR) {
        *src = MR_COL_X;
        *idx = p->ops[r].a;
    } else {
        *src = MR_COL_SCRATCH;
        *idx = p->cpu_slot[r];
    }
}

static int plan_term4(mr_plan *p)
{
    p->n_term4 = p->n_terms / 4;
    p->term4 = calloc(p->n_term4 ? p->n_term4 : 1, sizeof *p->term4);
    if (!p->term4)
        return -1;
    for (size_t g = 0; g < p->n_term4; g++) {
        mr_term4 *t4 = &p->term4[g];
        t4->plain = 1;
        for (unsigned t = 0; t < 4; t++) {
            const size_t i = 4 * g + t;
            column_of(p, p->term_a[i], &t4->u_src[t], &t4->u_idx[t]);
            if (p->term_hinge[i]) {
                t4->v_src[t] = MR_COL_X;
                t4->v_idx[t] = p->term_b[i];
            } else {
                column_of(p, p->term_b[i], &t4->v_src[t], &t4->v_idx[t]);
            }
            t4->c[t] = p->coef[i];
            t4->k[t] = p->term_k[i];
            t4->s[t] = p->term_hinge[i] == 2 ? -1.0 : 1.0;
            t4->variant |= (unsigned)(p->term_hinge[i] != 0) << t;
            t4->plain &= p->term_hinge[i] == 0 && p->term_b[i] == p->n_ops;
        }
    }
    return 0;
}

/* cpu_skip, cpu_slot, term_a, term_b, term_hinge, term_k, term4 (see plan.h). */
static int plan_cpu_schedule(mr_plan *p)
{
    const size_t nt = p->n_terms ? p->n_terms : 1, no = p->n_ops ? p->n_ops : 1;
    const uint32_t one = (uint32_t)p->n_ops;
    p->term_a = malloc(nt * sizeof *p->term_a);
    p->term_b = malloc(nt * sizeof *p->term_b);
    p->term_hinge = calloc(nt, sizeof *p->term_hinge);
    p->term_k = calloc(nt, sizeof *p->term_k);
    p->cpu_skip = calloc(no, sizeof *p->cpu_skip);
    p->cpu_slot = calloc(no, sizeof *p->cpu_slot);
    uint32_t *uses = calloc(no, sizeof *uses);
    if (!p->term_a || !p->term_b || !p->term_hinge || !p->term_k || !p->cpu_skip || !p->cpu_slot ||
        !uses) {
        free(uses);
        return -1;
    }
    for (size_t i = 0; i < p->n_ops; i++) {
        if (p->ops[i].code == MR_OP_MUL) {
            uses[p->ops[i].a] += 2; /* an op's operand: 2, a term's: 1 */
            uses[p->ops[i].b] += 2;
        }
        p->cpu_skip[i] = p->ops[i].code == MR_OP_LINEAR;
    }
    for (size_t i = 0; i < p->n_terms; i++)
        if (p->term_reg[i] != MR_REG_ONE)
            uses[p->term_reg[i]]++;
    for (size_t i = 0; i < p->n_terms; i++) {
        const uint32_t r = p->term_reg[i];
        p->term_a[i] = r == MR_REG_ONE ? one : r;
        p->term_b[i] = one;
        if (r == MR_REG_ONE || uses[r] != 1)
            continue;
        const mr_op *o = &p->ops[r];
        if (is_hinge(o)) { /* a hinge that only this term reads */
            fuse_hinge(p, i, one, r);
        } else if (o->code == MR_OP_MUL) { /* a product that only this term reads */
            p->cpu_skip[r] = 1;
            if (is_hinge(&p->ops[o->b]) && uses[o->b] == 2)
                fuse_hinge(p, i, o->a, o->b);
            else if (is_hinge(&p->ops[o->a]) && uses[o->a] == 2)
                fuse_hinge(p, i, o->b, o->a);
            else {
                p->term_a[i] = o->a;
                p->term_b[i] = o->b;
            }
        }
    }
    free(uses);
    p->cpu_slots = 0;
    for (size_t i = 0; i < p->n_ops; i++)
        p->cpu_slot[i] = p->cpu_skip[i] ? UINT32_MAX : p->cpu_slots++;
    return plan_term4(p);
}

mr_status mr_plan_build(const mr_model *m, mr_plan **out)
{
    *out = NULL;
    mr_plan *p = calloc(1, sizeof *p);
    if (!p)
        return MR_E_NOMEM;
    p->n_features = m->n_features;
    p->n_terms = m->n_terms;
    p->term_reg = malloc((m->n_terms ? m->n_terms : 1) * sizeof *p->term_reg);
    p->coef = malloc((m->n_terms ? m->n_terms : 1) * sizeof *p->coef);
    builder bd = { 0 };
    int oom = !p->term_reg || !p->coef;
    for (size_t i = 0; i < m->n_terms && !oom; i++) {
        p->term_reg[i] = compile(&bd, &m->terms[i], &oom);
        p->coef[i] = m->coef[i];
    }
    free(bd.slot);
    p->ops = bd.ops;
    p->n_ops = bd.n;
    if (!oom)
        oom = plan_cpu_schedule(p) != 0;
    if (oom) {
        mr_plan_free(p);
        return MR_E_NOMEM;
    }
    *out = p;
    return MR_OK;
}

void mr_plan_free(mr_plan *p)
{
    if (!p)
        return;
    free(p->ops);
    free(p->term_reg);
    free(p->coef);
    free(p->cpu_skip);
    free(p->cpu_slot);
    free(p->term_a);
    free(p->term_b);
    free(p->term_hinge);
    free(p->term_k);
    free(p->term4);
    free(p);
}

size_t mr_plan_scratch_len(const mr_plan *p)
{
    return (p->cpu_slots ? p->cpu_slots : 1) * MR_STRIDE;
}
