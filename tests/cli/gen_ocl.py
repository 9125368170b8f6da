#!/usr/bin/env python3
"""Random models and data for the OpenCL tests (Python 3 stdlib only).

  gen_ocl.py model OUT.json DEGREE SEED   a ModelSpec v1 model of exactly this
                                          degree (1-3): hinges (both sides),
                                          linear, categorical and missingness
                                          factors, nested chains and interactions,
                                          allow_missing true
  gen_ocl.py data MODEL.json OUT.csv NROWS SEED
                                          CSV rows for any model: values around
                                          its knots (knots themselves, +-0, tiny,
                                          huge), missing tokens when the model
                                          allows them, categorical labels incl.
                                          unseen ones
"""
import json
import random
import sys

NUM = ['x0', 'x1', 'x2', 'x3']
CAT = 'colour'
CLASSES = ['blue', 'green', 'red', 'violet']


def term(kind, var=None, knot=None, right=None, cat=None, p1=None, p2=None):
    return {'category': cat, 'gcv_score': 0.0, 'is_right_hinge': right, 'kind': kind,
            'knot_val': knot, 'parent1': p1, 'parent2': p2, 'rss_score': 0.0,
            'variable_idx': var, 'variable_name': None if var is None else (NUM + [CAT])[var]}


def factor(rnd, parent):
    u = rnd.random()
    if u < 0.15:
        return term('categorical', 4, cat=float(rnd.randrange(len(CLASSES))), p1=parent)
    if u < 0.25 and parent is None:  # a missingness term has no parent
        return term('missingness', rnd.randrange(4))
    if u < 0.4:
        return term('linear', rnd.randrange(4), p1=parent)
    return term('hinge', rnd.randrange(4), knot=round(rnd.uniform(-2, 2), rnd.choice([1, 3, 17])),
                right=rnd.random() < 0.5, p1=parent)


def chain(rnd, deg):
    t = None
    for _ in range(deg):
        t = factor(rnd, t)
    return t


def gen_model(path, degree, seed):
    rnd = random.Random(seed)
    terms = [term('constant')]
    for i in range(40):
        d = rnd.randint(1, degree) if i else degree  # at least one term of the full degree
        if d >= 2 and rnd.random() < 0.4:
            k = rnd.randint(1, d - 1)
            terms.append(term('interaction', p1=chain(rnd, k), p2=chain(rnd, d - k)))
        else:
            terms.append(chain(rnd, d))
    coefs = [rnd.uniform(-5, 5) * 10 ** rnd.randint(-3, 3) for _ in terms]
    m = {
        'basis_terms': terms,
        'categorical_imputer': {'encoders': {'4': CLASSES}, 'most_frequent': {'4': 'green'}},
        'coefficients': coefs,
        'feature_schema': {'feature_names': NUM + [CAT], 'n_features': 5},
        'metrics': {'gcv': None, 'mse': None, 'rss': None},
        'model_type': 'Earth',
        'module_version': None,
        'params': {'allow_linear': True, 'allow_missing': True, 'categorical_features': [4],
                   'endspan': -1, 'endspan_alpha': 0.0, 'feature_importance_type': None,
                   'max_degree': degree, 'max_terms': None, 'minspan': -1, 'minspan_alpha': 0.0,
                   'penalty': 3.0},
        'spec_version': '1.0',
    }
    with open(path, 'w') as fh:
        json.dump(m, fh)


def knots(t, out):
    if t is None:
        return
    if t.get('knot_val') is not None:
        out.setdefault(t['variable_idx'], []).append(t['knot_val'])
    knots(t.get('parent1'), out)
    knots(t.get('parent2'), out)


def gen_data(model, path, n, seed):
    rnd = random.Random(seed)
    m = json.load(open(model))
    fs = m['feature_schema']
    names = fs.get('feature_names') or ['x%d' % i for i in range(fs['n_features'])]
    enc = {int(k): v for k, v in (m.get('categorical_imputer') or {}).get('encoders', {}).items()}
    allow = m['params'].get('allow_missing')
    ks = {}
    for t in m['basis_terms']:
        knots(t, ks)

    def num(j):
        u = rnd.random()
        if allow and u < 0.05:
            return rnd.choice(['', 'NA', 'NaN', 'nan'])
        kj = ks.get(j) or [0.0]
        if u < 0.15:
            return repr(rnd.choice(kj))  # exactly on a knot: d = +-0
        if u < 0.18:
            return rnd.choice(['0', '-0', '1e-310', '-1e-310', '1e300', '-1e300', '5e-324'])
        return repr(rnd.choice(kj) + rnd.gauss(0, 2))

    def cat(j):
        u = rnd.random()
        if allow and u < 0.05:
            return rnd.choice(['', 'NA'])
        if u < 0.08:
            return 'UNSEEN'
        return rnd.choice(enc[j])

    with open(path, 'w') as fh:
        fh.write(','.join('"%s"' % s if ',' in s else s for s in names) + '\n')
        for _ in range(n):
            fh.write(','.join(cat(j) if j in enc else num(j) for j in range(len(names))) + '\n')


if __name__ == '__main__':
    if sys.argv[1] == 'model':
        gen_model(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == 'data':
        gen_data(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)
