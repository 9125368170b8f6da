# test_export_earth.R -- export earth models, replay them with mars-replay, compare
# with predict.earth bit for bit.
#
#   Rscript exporters/R/tests/test_export_earth.R MARS_REPLAY WORKDIR
#
# Every case: fit earth on data shipped with R or earth, export_earth(), replay the
# held-out rows (inside and outside the training range, exactly on every knot, every
# factor level) with `mars-replay predict -O f64`, and compare the doubles' bytes with
# predict.earth(). The design matrix is compared too (term by term; the sign of a
# zero is ignored there: earth computes an inactive hinge as d * 0, which is -0 for
# d < 0, and ModelSpec's hinge is +0; a zero adds nothing to the sum either way).
# Refused models must leave no file. Prints "PASS name" / "FAIL name: why"; exits 1
# on any failure.
suppressPackageStartupMessages(library(earth))
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2L) stop("usage: test_export_earth.R MARS_REPLAY WORKDIR")
bin <- normalizePath(args[1], mustWork = TRUE)
work <- args[2]
dir.create(work, showWarnings = FALSE, recursive = TRUE)
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE)[1])))
source(file.path(here, "..", "R", "export_earth.R"))

npass <- 0L
nfail <- 0L
result <- function(name, why) {
    if (is.null(why)) {
        cat("PASS", name, "\n")
        npass <<- npass + 1L
    } else {
        cat("FAIL ", name, ": ", why, "\n", sep = "")
        nfail <<- nfail + 1L
    }
}

# Bytes of doubles, for a bitwise comparison (NaN == NaN whatever its payload).
same_bits <- function(a, b, zero_sign = TRUE) {
    a <- as.double(a)
    b <- as.double(b)
    if (length(a) != length(b)) return(rep(FALSE, max(length(a), length(b))))
    na <- is.nan(a) | is.na(a)
    nb <- is.nan(b) | is.na(b)
    ra <- matrix(writeBin(a, raw(), endian = "little"), nrow = 8)
    rb <- matrix(writeBin(b, raw(), endian = "little"), nrow = 8)
    eq <- colSums(ra != rb) == 0
    if (!zero_sign) eq <- eq | (a == 0 & b == 0 & !na & !nb)
    ifelse(na | nb, na & nb, eq)
}

# Distance in units of the last place of b (approximate; for messages only).
ulp_gap <- function(a, b) abs(a - b) / (2^floor(log2(abs(b))) * .Machine$double.eps)

# A CSV mars-replay reads: numbers with 17 significant digits (they read back to the
# same double), factor levels as their labels, NA as an empty cell.
write_input <- function(nd, file) {
    cols <- lapply(nd, function(v) {
        s <- if (is.numeric(v)) sprintf("%.17g", as.double(v)) else as.character(v)
        s[is.na(v)] <- ""
        s
    })
    lines <- do.call(paste, c(cols, sep = ","))
    writeLines(c(paste(names(nd), collapse = ","), lines), file, useBytes = TRUE)
}

read_f64 <- function(file, n) readBin(file, "double", n = n + 1L, size = 8L, endian = "little")

# Held-out rows: the given rows, plus for every numeric predictor the values just
# outside and far outside its training range and every knot of the model, the other
# predictors taken from the given rows in turn; factor predictors cycle through all
# their levels.
held_out <- function(fit, rows, train) {
    feats <- rownames(fit$modvars)
    sel <- fit$selected.terms
    out <- list(rows)
    for (v in feats) {
        x <- train[[v]]
        if (is.numeric(x)) {
            cols <- which(fit$modvars[v, ] != 0)
            knots <- unique(as.vector(fit$cuts[sel, cols][fit$dirs[sel, cols] %in% c(-1, 1)]))
            rng <- range(x)
            w <- diff(rng)
            vals <- c(knots, rng, rng[1] - c(1e-9, 1, 10) * (w + 1), rng[2] + c(1e-9, 1, 10) * (w + 1),
                      stats::runif(5, rng[1], rng[2]))
            extra <- rows[rep_len(seq_len(nrow(rows)), length(vals)), , drop = FALSE]
            extra[[v]] <- vals
            out[[length(out) + 1L]] <- extra
        } else if (is.factor(x) || is.character(x) || is.logical(x)) {
            lv <- if (is.factor(x)) levels(x) else sort(unique(as.character(x)))
            extra <- rows[rep_len(seq_len(nrow(rows)), length(lv)), , drop = FALSE]
            extra[[v]] <- if (is.factor(x)) factor(lv, levels = levels(x)) else if (is.logical(x)) as.logical(lv) else lv
            out[[length(out) + 1L]] <- extra
        }
    }
    nd <- do.call(rbind, out)
    rownames(nd) <- NULL
    nd
}

# Export, replay, compare. `check` may add assertions on the model file.
case <- function(name, fit, train, rows, response = NULL, check = NULL, nd = NULL,
                 allow_missing = NULL, replay_args = character()) {
    why <- tryCatch({
        model <- file.path(work, paste0(name, ".json"))
        csv <- file.path(work, paste0(name, ".csv"))
        unlink(model)
        if (is.null(allow_missing)) export_earth(fit, model, response = response)
        else export_earth(fit, model, response = response, allow_missing = allow_missing)
        if (is.null(nd)) nd <- held_out(fit, rows, train)
        feats <- rownames(fit$modvars)
        write_input(nd[, feats, drop = FALSE], csv)
        want <- predict(fit, newdata = nd)
        want <- if (is.null(response)) want[, 1] else want[, response]
        r <- replay(replay_args, model, csv, file.path(work, "pred.f64"))
        if (r$rc != 0) stop("mars-replay predict exit ", r$rc, ": ", r$err)
        got <- read_f64(file.path(work, "pred.f64"), length(want))
        if (length(got) != length(want)) stop("mars-replay gave ", length(got), " values for ", length(want), " rows")
        ok <- same_bits(got, want)
        if (!all(ok)) {
            i <- which(!ok)
            stop(sum(!ok), " of ", length(ok), " rows differ (max ", max(ulp_gap(got[i], want[i])),
                 " ULP); first row ", i[1], ": mars-replay ", sprintf("%.17g", got[i[1]]),
                 ", earth ", sprintf("%.17g", want[i[1]]))
        }
        # the basis, term by term
        bx <- model.matrix(fit, nd)
        unlink(file.path(work, "design.f64"))
        r <- system2(bin, c("design", replay_args, "-m", shQuote(model), "-O", "f64", "-o",
                            shQuote(file.path(work, "design.f64")), shQuote(csv)), stdout = FALSE, stderr = FALSE)
        if (r != 0) stop("mars-replay design exit ", r)
        dm <- read_f64(file.path(work, "design.f64"), length(bx))
        dm <- matrix(dm, nrow = nrow(bx), byrow = TRUE)
        okd <- same_bits(dm, bx, zero_sign = FALSE)
        if (!all(okd)) stop(sum(!okd), " design cells differ from model.matrix(earth)")
        if (!is.null(check)) check(jsonlite::fromJSON(model, simplifyVector = FALSE), nd, want, got)
        NULL
    }, error = function(e) conditionMessage(e))
    result(name, why)
}

# mars-replay predict, default subcommand arguments first
replay <- function(args_extra, model, csv, out) {
    unlink(out)
    rc <- system2(bin, c("predict", args_extra, "-m", shQuote(model), "-O", "f64", "-o", shQuote(out), shQuote(csv)),
                  stdout = FALSE, stderr = file.path(work, "stderr.txt"))
    list(rc = rc, err = paste(readLines(file.path(work, "stderr.txt"), warn = FALSE), collapse = " "))
}

refused <- function(name, expr, pattern) {
    model <- file.path(work, paste0(name, ".json"))
    unlink(model)
    why <- tryCatch({
        force(expr(model))
        "exported, expected a refusal"
    }, error = function(e) {
        msg <- conditionMessage(e)
        if (!grepl(pattern, msg)) paste0("message does not match /", pattern, "/: ", msg)
        else if (file.exists(model)) "a file was left behind"
        else if (length(list.files(work, pattern = "^\\.export_earth-"))) "a temporary file was left behind"
        else NULL
    })
    result(name, why)
}

# walk a term's parent chain: the list of factors, innermost first
chain <- function(t) {
    f <- list()
    while (!is.null(t)) {
        f <- c(list(t), f)
        t <- t$parent1
    }
    f
}
term_degree <- function(t) sum(vapply(chain(t), function(x) x$kind != "constant", TRUE))
kinds <- function(m) unlist(lapply(m$basis_terms, function(t) vapply(chain(t), function(x) x$kind, "")))
expect <- function(cond, msg) if (!isTRUE(cond)) stop(msg)

set.seed(20261203)
dsplit <- function(d, frac = 0.75) {
    i <- sample(nrow(d), floor(frac * nrow(d)))
    list(train = d[i, , drop = FALSE], test = d[-i, , drop = FALSE])
}

# ---- trees: degree 1, formula and x= interface --------------------------------
data(trees)
s <- dsplit(trees)
fit <- earth(Volume ~ ., data = s$train)
case("trees", fit, s$train, s$test, check = function(m, ...) {
    expect(m$basis_terms[[1]]$kind == "constant" && is.null(m$basis_terms[[1]]$parent1), "intercept is not first")
    expect(identical(m$provenance$source_tool, "earth"), "no provenance")
    expect(identical(m$params$allow_missing, FALSE), "allow_missing is not false")
})
fitx <- earth(s$train[, c("Girth", "Height")], s$train$Volume)
case("trees-x-interface", fitx, s$train, s$test)
fitw <- earth(Volume ~ ., data = s$train, weights = seq_len(nrow(s$train)))
case("trees-weights", fitw, s$train, s$test)

# ---- multi-response: one file per response -------------------------------------
fitm <- earth(cbind(Volume, Height) ~ Girth, data = s$train)
refused("multi-response-refused", function(p) export_earth(fitm, p), "multi-response.*response=")
case("multi-response-Volume", fitm, s$train, s$test, response = "Volume")
case("multi-response-Height", fitm, s$train, s$test, response = 2)

# ---- ozone1: degree 2, linear predictors, Adjust.endspan -----------------------
data(ozone1)
s <- dsplit(ozone1)
fit <- earth(O3 ~ ., data = s$train, degree = 2)
case("ozone1-degree2", fit, s$train, s$test, check = function(m, ...) {
    expect(max(vapply(m$basis_terms, term_degree, 1L)) == 2L, "no degree-2 term")
})
fit <- earth(O3 ~ ., data = s$train, degree = 2, linpreds = c("temp", "ibt"))
case("ozone1-linpreds", fit, s$train, s$test, check = function(m, ...) {
    expect("linear" %in% kinds(m), "no linear (dirs == 2) factor")
})
for (ae in c(0, 5)) {
    fit <- earth(O3 ~ ., data = s$train, degree = 2, Adjust.endspan = ae)
    case(paste0("ozone1-Adjust.endspan-", ae), fit, s$train, s$test)
}

# ---- etitanic: factors, a level that is never selected -------------------------
data(etitanic)
et <- etitanic
et$deck <- factor(sample(c("A", "B", "C", "D", "E"), nrow(et), replace = TRUE)) # noise: most levels unused
s <- dsplit(et)
fit <- earth(survived ~ ., data = s$train, degree = 2)
case("etitanic-factors", fit, s$train, s$test, check = function(m, nd, want, got) {
    expect("categorical" %in% kinds(m), "no categorical term")
    used <- list()
    for (t in m$basis_terms) for (f in chain(t))
        if (f$kind == "categorical") used[[length(used) + 1L]] <- c(f$variable_idx, f$category)
    enc <- m$categorical_imputer$encoders
    unused <- character(0)
    for (k in names(enc)) for (l in seq_along(enc[[k]]) - 1L)
        if (!any(vapply(used, function(u) u[1] == as.integer(k) && u[2] == l, TRUE)))
            unused <- c(unused, enc[[k]][[l + 1L]])
    # a level that is not the reference (first) one and that no term reads
    nonref <- setdiff(unused, vapply(enc, function(e) e[[1]], ""))
    expect(length(nonref) > 0, "every non-reference level is selected: no never-selected level tested")
    expect(any(as.matrix(nd[, c("pclass", "sex", "deck")]) == nonref[1]), "held-out rows lack a never-selected level")
})
refused("etitanic-glm", function(p) export_earth(earth(survived ~ ., data = s$train, glm = list(family = binomial)), p),
        "glm=")
ord <- s$train
ord$pclass <- factor(ord$pclass, ordered = TRUE)
refused("ordered-factor", function(p) export_earth(earth(survived ~ ., data = ord, degree = 1), p),
        "not a 0/1 indicator")
refused("x-interface-factor", function(p) export_earth(earth(s$train[, -2], s$train$survived), p),
        "x= interface")
# missing values: by default refused by mars-replay (exit 4); with allow_missing =
# TRUE a missing cell gives NaN exactly where earth's predict gives NA
fit <- earth(survived ~ ., data = s$train, degree = 2)
nd <- s$test[1:40, ]
nd$age[c(1, 5)] <- NA
nd$sex[c(2, 6)] <- NA
nd$parch[3] <- NA
nd$deck[4] <- NA
case("etitanic-allow-missing", fit, s$train, allow_missing = TRUE, nd = nd, check = function(m, nd, want, got) {
    expect(identical(m$params$allow_missing, TRUE), "allow_missing is not true")
    expect(any(is.na(want)) && any(!is.na(want[!complete.cases(nd)])), "no NA and non-NA rows among rows with a missing cell")
})
why <- tryCatch({
    model <- file.path(work, "etitanic-na.json")
    export_earth(fit, model)
    write_input(nd[, rownames(fit$modvars)], file.path(work, "na.csv"))
    r <- replay(character(), model, file.path(work, "na.csv"), file.path(work, "na.f64"))
    if (r$rc != 4) stop("exit ", r$rc, ", expected 4 (missing value with allow_missing false)")
    if (file.exists(file.path(work, "na.f64"))) stop("output file left behind")
    NULL
}, error = function(e) conditionMessage(e))
result("etitanic-missing-refused", why)

# ---- mtcars: degree 2 and 3 ---------------------------------------------------
data(mtcars)
for (deg in 2:3) {
    fit <- earth(mpg ~ ., data = mtcars, degree = deg, minspan = 1, endspan = 1, thresh = 0, penalty = -1,
                 nk = 41)
    case(paste0("mtcars-degree", deg), fit, mtcars, mtcars[1:8, ], check = function(m, ...) {
        expect(max(vapply(m$basis_terms, term_degree, 1L)) == deg, paste("no degree", deg, "term"))
    })
}

# ---- Friedman's synthetic function (mlbench's friedman1), degree 3 -----------
n <- 400
X <- as.data.frame(matrix(stats::runif(n * 10), n, 10))
names(X) <- paste0("x", 1:10)
fr <- X
fr$y <- 10 * sin(pi * X$x1 * X$x2) + 20 * (X$x3 - 0.5)^2 + 10 * X$x4 + 5 * X$x5 + stats::rnorm(n)
s <- dsplit(fr)
fit <- earth(y ~ ., data = s$train, degree = 3, nk = 61, thresh = 0, penalty = -1) # large: ~50 terms
case("friedman1-degree3", fit, s$train, s$test, check = function(m, ...) {
    expect(max(vapply(m$basis_terms, term_degree, 1L)) == 3L, "no degree-3 term")
})

# ---- refusals ------------------------------------------------------------------
refused("offset", function(p) export_earth(earth(Volume ~ Girth + offset(log(Height)), data = trees), p), "offset")
refused("transformed-predictor", function(p) export_earth(earth(Volume ~ log(Girth) + Height, data = trees), p),
        "transformation")
refused("not-earth", function(p) export_earth(lm(Volume ~ Girth, data = trees), p), "not an earth object")

# ---- the one divergence: earth's intermediate product overflows ---------------
# earth computes an inactive hinge factor as (temp1 * d) * 0: when temp1 * d
# overflows to -Inf, that is NaN; ModelSpec's hinge is +0, so mars-replay gives a
# finite value. Only inputs near the double range reach it (here 1e300).
why <- tryCatch({
    d2 <- data.frame(a = stats::runif(200), b = stats::runif(200))
    d2$y <- d2$a * d2$b + (d2$a > 0.5) * (d2$b < 0.4) + stats::rnorm(200, sd = 0.01)
    f2 <- earth(y ~ ., data = d2, degree = 2, thresh = 0)
    nd <- expand.grid(a = c(1e300, -1e300), b = c(1e300, -1e300))
    want <- predict(f2, newdata = nd)[, 1]
    model <- file.path(work, "overflow.json")
    export_earth(f2, model)
    write_input(nd, file.path(work, "overflow.csv"))
    r <- replay(character(), model, file.path(work, "overflow.csv"), file.path(work, "overflow.f64"))
    if (r$rc != 0) stop("exit ", r$rc, ": ", r$err)
    got <- read_f64(file.path(work, "overflow.f64"), nrow(nd))
    if (!any(is.nan(want) & !is.nan(got))) stop("no row where earth gives NaN and mars-replay does not")
    NULL
}, error = function(e) conditionMessage(e))
result("overflow-divergence-documented", why)

cat(npass, "passed,", nfail, "failed\n")
quit(status = if (nfail == 0L) 0L else 1L)
