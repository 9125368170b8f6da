# export_earth.R -- write a fitted R `earth` model as ModelSpec v1 JSON for mars-replay.
#
#   source("exporters/R/R/export_earth.R")   # or library(marsreplayexport)
#   fit <- earth::earth(Volume ~ ., data = trees)
#   export_earth(fit, "model.json")
#
# The exporter translates structure only: earth's dirs/cuts rows become ModelSpec
# terms, its coefficients are copied. It computes no prediction; mars-replay is the
# judge (exporters/R/README.md). Needs jsonlite; reads earth's own objects.

.marsreplay_exporter <- "marsreplay-export-earth"
.marsreplay_exporter_version <- "0.1.0"

# Stop with a one-line message that names what is unsupported.
.refuse <- function(...) stop(paste0("export_earth: ", ...), call. = FALSE)

# A JSON number that reads back to the same double with a correctly rounded parser
# (17 significant digits; jsonlite's own formatting keeps only 15).
.num <- function(v) {
    v <- as.double(v)
    stopifnot(length(v) == 1L, is.finite(v))
    structure(sprintf("%.17g", v), class = "json")
}

# Which ModelSpec feature (0-based) and, for a factor, which level (0-based) each
# column of earth's expanded predictor matrix (colnames(object$dirs)) reads. The
# mapping is taken from earth's own expansion of a probe data set, never guessed
# from column names.
.earth_features <- function(object) {
    cols <- colnames(object$dirs)
    mv <- object$modvars
    if (is.null(mv) || is.null(cols))
        .refuse("the object has no modvars/dirs column names (earth older than 5.x?)")
    namesx <- rownames(mv)
    is_formula <- !is.null(object$terms)
    classes <- setNames(rep("numeric", length(namesx)), namesx)
    xlev <- list()
    if (is_formula) {
        dc <- attr(object$terms, "dataClasses")
        known <- intersect(namesx, names(dc))
        classes[known] <- dc[known]
        xlev <- object$xlevels
        if (is.null(xlev)) xlev <- list()
    } else if (!identical(cols, namesx)) {
        .refuse("model fitted with earth's x= interface and factor or expanded columns (",
                paste(setdiff(cols, namesx), collapse = ", "),
                "): earth keeps no factor levels for it; refit with the formula interface")
    }
    nlev <- vapply(namesx, function(v) {
        if (classes[[v]] == "logical") 2L else length(xlev[[v]])
    }, 1L)
    k <- max(7L, nlev)
    probe_num <- rep_len(c(0.5, -3.25, 7, 0.001, 123.456, -0.75, 2), k)
    probe <- list()
    for (v in namesx) {
        cl <- classes[[v]]
        if (cl == "numeric") {
            probe[[v]] <- probe_num
        } else if (cl %in% c("factor", "ordered", "character")) {
            lv <- xlev[[v]]
            if (is.null(lv))
                .refuse("no levels recorded for factor predictor '", v, "'")
            vals <- rep_len(lv, k)
            probe[[v]] <- if (cl == "character") vals else factor(vals, levels = lv, ordered = cl == "ordered")
        } else if (cl == "logical") {
            probe[[v]] <- rep_len(c(FALSE, TRUE), k)
        } else {
            .refuse("predictor '", v, "' has class '", cl,
                    "' (a matrix or other non-column predictor): ModelSpec features are single columns")
        }
    }
    probe <- as.data.frame(probe, stringsAsFactors = FALSE, check.names = FALSE)
    get_x <- tryCatch(utils::getFromNamespace("get.earth.x", "earth"),
                      error = function(e) .refuse("earth's get.earth.x not found (tested with earth 5.3.2)"))
    x <- tryCatch(suppressWarnings(get_x(object, data = probe, env = environment(),
                                         trace = 0, Callers.name = "export_earth")),
                  error = function(e) .refuse("earth could not expand a probe of the predictors: ",
                                              conditionMessage(e)))
    if (!identical(colnames(x), cols))
        .refuse("earth's expansion of the predictors does not give the columns of dirs")
    col_feature <- integer(length(cols))
    col_level <- rep(NA_integer_, length(cols))
    levels_of <- list()
    for (ci in seq_along(cols)) {
        vars <- which(mv[, ci] != 0)
        if (length(vars) != 1L)
            .refuse("predictor column '", cols[ci], "' depends on ", length(vars),
                    " variables (an interaction or expression in the formula): ",
                    "mars-replay reads plain variables only")
        v <- namesx[vars]
        col_feature[ci] <- vars - 1L
        xc <- unname(as.double(x[, ci]))
        if (classes[[v]] == "numeric") {
            if (!identical(xc, as.double(probe[[v]])))
                .refuse("predictor column '", cols[ci], "' is not the variable '", v,
                        "' itself (a transformation in the formula): mars-replay reads plain variables only")
        } else {
            lv <- if (classes[[v]] == "logical") c("FALSE", "TRUE") else xlev[[v]]
            levels_of[[v]] <- lv
            pv <- as.character(probe[[v]])
            one <- integer(0)
            for (l in seq_along(lv)) {
                vals <- unique(xc[pv == lv[l]])
                if (length(vals) != 1L || !(vals %in% c(0, 1)))
                    one <- c(one, NA_integer_)
                else if (vals == 1)
                    one <- c(one, l)
            }
            if (length(one) != 1L || is.na(one))
                .refuse("predictor column '", cols[ci], "' of factor '", v,
                        "' is not a 0/1 indicator of one level (contrasts other than ",
                        "contr.treatment, e.g. an ordered factor's polynomial contrasts)")
            col_level[ci] <- one - 1L
        }
    }
    list(names = namesx, cols = cols, col_feature = col_feature, col_level = col_level,
         levels = levels_of)
}

# One ModelSpec term from a row of dirs/cuts: the factors in increasing column
# order, each with the previous ones as parent1, starting from the constant. This
# is the order in which earth's get.bx multiplies (temp1 <- 1; temp1 * ...), and
# SEMANTICS' left-to-right parent chain.
.earth_term <- function(dirs_row, cuts_row, feat, iterm) {
    used <- which(dirs_row != 0)
    node <- list(kind = "constant")
    if (length(used) == 0L)
        return(node)
    for (c in used) {
        d <- dirs_row[[c]]
        cut <- cuts_row[[c]]
        j <- feat$col_feature[c]
        name <- feat$cols[c]
        if (!is.na(feat$col_level[c])) {
            # a factor indicator x in {0, 1}: earth's x (dir 2) and max(0, x - 0)
            # (dir 1, cut 0) are both the indicator itself
            if (!(d == 2 || (d == 1 && cut == 0)))
                .refuse("term ", iterm, ": a hinge on factor indicator column '", name,
                        "' (dir ", d, ", cut ", format(cut, digits = 17),
                        ") is not a ModelSpec categorical term")
            node <- list(kind = "categorical", variable_idx = j, variable_name = name,
                         category = .num(feat$col_level[c]), parent1 = node)
        } else if (d == 2) {
            node <- list(kind = "linear", variable_idx = j, variable_name = name, parent1 = node)
        } else if (d == 1 || d == -1) {
            if (!is.finite(cut))
                .refuse("term ", iterm, ": cut for '", name, "' is not finite")
            node <- list(kind = "hinge", variable_idx = j, variable_name = name,
                         is_right_hinge = (d == 1), knot_val = .num(cut), parent1 = node)
        } else {
            .refuse("term ", iterm, ": direction ", d, " for '", name, "' (earth uses -1, 0, 1, 2)")
        }
    }
    node
}

# The whole ModelSpec as an R list (numbers as verbatim JSON), or an error.
earth_modelspec <- function(object, response = NULL, allow_missing = FALSE) {
    if (!is.logical(allow_missing) || length(allow_missing) != 1L || is.na(allow_missing))
        .refuse("allow_missing must be TRUE or FALSE")
    if (!inherits(object, "earth"))
        .refuse("not an earth object (class ", paste(class(object), collapse = "/"), ")")
    if (!is.null(object$glm.list))
        .refuse("model fitted with glm= (a link function): ModelSpec v1 replays the earth ",
                "linear predictor only; refit without glm=")
    if (!is.null(object$terms) && !is.null(attr(object$terms, "offset")))
        .refuse("model has an offset term: ModelSpec v1 has no offset")
    coefs <- object$coefficients
    if (is.null(coefs) || is.null(object$dirs) || is.null(object$cuts) || is.null(object$selected.terms))
        .refuse("object lacks coefficients, dirs, cuts or selected.terms")
    coefs <- as.matrix(coefs)
    rnames <- colnames(coefs)
    if (is.null(rnames)) rnames <- paste0("y", seq_len(ncol(coefs)))
    if (is.null(response)) {
        if (ncol(coefs) != 1L)
            .refuse("multi-response model (", ncol(coefs), " responses: ", paste(rnames, collapse = ", "),
                    "): ModelSpec v1 has one response; pass response= to write one file per response")
        r <- 1L
    } else {
        r <- if (is.character(response)) match(response, rnames) else as.integer(response)
        if (length(r) != 1L || is.na(r) || r < 1L || r > ncol(coefs))
            .refuse("response ", format(response), " is not one of: ", paste(rnames, collapse = ", "))
    }
    coef <- unname(coefs[, r])
    if (!all(is.finite(coef)))
        .refuse("a coefficient is NA or not finite")
    sel <- object$selected.terms
    dirs <- object$dirs
    cuts <- object$cuts
    if (length(sel) != length(coef) || any(sel < 1L | sel > nrow(dirs)))
        .refuse("selected.terms does not match the coefficients")
    feat <- .earth_features(object)
    terms <- vector("list", length(sel))
    degree <- 0L
    for (i in seq_along(sel)) {
        terms[[i]] <- .earth_term(dirs[sel[i], ], cuts[sel[i], ], feat, i)
        degree <- max(degree, sum(dirs[sel[i], ] != 0))
    }
    imputer <- NULL
    cat_names <- names(feat$levels)
    if (length(cat_names)) {
        enc <- list()
        mf <- list()
        for (v in cat_names) {
            key <- as.character(match(v, feat$names) - 1L)
            enc[[key]] <- as.list(enc2utf8(feat$levels[[v]]))
            # earth refuses a level it has not seen; mars-replay's default substitutes
            # most_frequent, set to the reference (first) level (README)
            mf[[key]] <- enc2utf8(feat$levels[[v]][1])
        }
        imputer <- list(encoders = enc, most_frequent = mf)
    }
    per <- function(x) if (is.null(x) || length(x) < r || !is.finite(x[r])) NULL else .num(x[r])
    blas <- tryCatch(extSoftVersion()[["BLAS"]], error = function(e) "")
    list(
        spec_version = "1.0",
        model_type = "earth",
        params = list(
            # FALSE: mars-replay refuses a missing cell or +-Inf (exit 4); TRUE: a missing
            # cell gives NaN where earth's predict gives NA (README)
            allow_missing = allow_missing,
            max_degree = degree,
            response = enc2utf8(rnames[r]),
            penalty = if (is.null(object$penalty)) NULL else .num(object$penalty),
            nk = if (is.null(object$nk)) NULL else .num(object$nk),
            pmethod = if (is.null(object$pmethod)) NULL else as.character(object$pmethod)),
        feature_schema = list(n_features = length(feat$names),
                              feature_names = as.list(enc2utf8(feat$names))),
        basis_terms = terms,
        coefficients = lapply(coef, .num),
        categorical_imputer = imputer,
        metrics = list(rss = per(object$rss.per.response), rsq = per(object$rsq.per.response),
                       gcv = per(object$gcv.per.response), grsq = per(object$grsq.per.response)),
        provenance = list(
            exporter = .marsreplay_exporter,
            exporter_version = .marsreplay_exporter_version,
            source_tool = "earth",
            source_tool_version = as.character(utils::packageVersion("earth")),
            source_runtime = paste0(R.version.string, if (nzchar(blas)) paste0("; BLAS ", blas) else ""))
    )
}

# Write `object` as ModelSpec v1 JSON to `path`. A refused model writes nothing;
# the file appears only complete (temporary file renamed).
export_earth <- function(object, path, response = NULL, allow_missing = FALSE) {
    if (!is.character(path) || length(path) != 1L || !nzchar(path))
        .refuse("path must be one file name")
    spec <- earth_modelspec(object, response, allow_missing)
    txt <- jsonlite::toJSON(spec, auto_unbox = TRUE, null = "null", json_verbatim = TRUE,
                            pretty = TRUE, digits = NA)
    dir <- dirname(path)
    if (!dir.exists(dir))
        .refuse("directory ", dir, " does not exist")
    tmp <- tempfile(pattern = ".export_earth-", tmpdir = dir, fileext = ".tmp")
    ok <- FALSE
    on.exit(if (!ok) unlink(tmp), add = TRUE)
    con <- file(tmp, open = "wb")
    tryCatch({
        writeBin(charToRaw(enc2utf8(paste0(txt, "\n"))), con)
    }, finally = close(con))
    if (!file.rename(tmp, path))
        .refuse("cannot rename ", tmp, " to ", path)
    ok <- TRUE
    invisible(path)
}
