#pragma OPENCL FP_CONTRACT OFF
/* replay.cl — the flat evaluation plan of src/plan.h on an OpenCL device.
 *
 * One work-item is one row. The ops run in plan order, each writing its
 * register (global scratch, register-major so that neighbouring rows are
 * neighbouring addresses), then the terms are summed left to right,
 * acc = acc + coef[i] * term[i] starting from 0.0: exactly the IEEE
 * operations of src/eval_c.c in the same order. FP_CONTRACT OFF (above) and
 * no -cl-mad-enable / -cl-fast-relaxed-math keep a*b+c from becoming an FMA.
 *
 * Built twice at most: as is (double) or with -DMR_SINGLE (float, for devices
 * without fp64 and --precision single). Layout of one device batch of up to
 * `tile` rows: x[f * tile + r] (feature-major), reg[i * tile + r],
 * out[r] (predict) or out[r * n_terms + t] (design). */
#ifdef MR_SINGLE
typedef float real;
#else
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
#endif

/* OP_LINEAR, OP_HINGE_R, OP_HINGE_L, OP_CAT, OP_MISS, OP_MUL and REG_ONE
 * come from the host as build options, made from src/plan.h's mr_opcode:
 * the two sides cannot number them differently. */
#if !defined(OP_LINEAR) || !defined(OP_HINGE_R) || !defined(OP_HINGE_L) || !defined(OP_CAT) || \
    !defined(OP_MISS) || !defined(OP_MUL) || !defined(REG_ONE)
#error "build with the opcode options of src/ocl_backend.c (build_options)"
#endif

__kernel void mr_replay(const uint n_rows, const uint tile, const uint n_ops, const uint n_terms,
                        const uint design, __global const uint *ops, __global const real *knot,
                        __global const uint *term_reg, __global const real *coef,
                        __global const real *x, __global real *reg, __global real *out)
{
    const uint r = (uint)get_global_id(0);
    if (r >= n_rows)
        return;
    const size_t t = tile;
    for (uint i = 0; i < n_ops; i++) {
        const uint code = ops[3 * i], a = ops[3 * i + 1], b = ops[3 * i + 2];
        real v;
        if (code == OP_MUL) {
            v = reg[a * t + r] * reg[b * t + r];
        } else {
            const real xa = x[a * t + r];
            const real k = knot[i];
            real d;
            switch (code) {
            case OP_LINEAR: v = xa; break;
            case OP_HINGE_R:
                d = xa - k;
                v = d <= (real)0 ? (real)0 : d; /* NaN stays NaN, -0 -> +0 */
                break;
            case OP_HINGE_L:
                d = k - xa;
                v = d <= (real)0 ? (real)0 : d;
                break;
            case OP_CAT: v = xa != xa ? xa : (xa == k ? (real)1 : (real)0); break;
            default: v = xa != xa ? (real)1 : (real)0; break; /* OP_MISS */
            }
        }
        reg[i * t + r] = v;
    }
    if (design) {
        for (uint i = 0; i < n_terms; i++) {
            const uint g = term_reg[i];
            out[(size_t)r * n_terms + i] = g == REG_ONE ? (real)1 : reg[g * t + r];
        }
        return;
    }
    real acc = (real)0;
    for (uint i = 0; i < n_terms; i++) {
        const uint g = term_reg[i];
        const real b = g == REG_ONE ? (real)1 : reg[g * t + r];
        acc = acc + coef[i] * b;
    }
    out[r] = acc;
}
