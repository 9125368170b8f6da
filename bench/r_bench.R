# r_bench.R — the R earth peer (Debian r-cran-earth, r-cran-data.table).
#   Rscript r_bench.R fit TRAIN.csv MODEL.rds NTERMS   fit degree 2 like pymars' fit, save
#   Rscript r_bench.R mem MODEL.rds DATA.csv RUNS       in-memory predict, median of RUNS (JSON)
#   Rscript r_bench.R csv MODEL.rds IN.csv OUT.csv      fread + predict + fwrite (timed outside)
suppressPackageStartupMessages({ library(earth); library(data.table) })
a <- commandArgs(trailingOnly = TRUE)
json <- function(...) {
  v <- list(...)
  cat("{", paste(sprintf("\"%s\": %s", names(v),
      vapply(v, function(x) if (is.character(x)) sprintf("\"%s\"", x) else format(x, digits = 17), "")),
      collapse = ", "), "}\n", sep = "")
}
if (a[1] == "fit") {
  tr <- fread(a[2])
  feats <- grep("^x[0-9]+$", names(tr), value = TRUE)
  # pymars' bench fit (max_degree 2, max_terms 41, minspan 40, endspan 20), but the same size:
  # no early stop in the forward pass (thresh 0), and a backward pass that keeps the best
  # NTERMS-term subset (penalty -1: GCV without the term penalty, so the largest size wins)
  fit <- earth(x = as.data.frame(tr[, ..feats]), y = tr$y, degree = 2, nk = 41, thresh = 0,
               minspan = 40, endspan = 20, penalty = -1, nprune = as.integer(a[4]))
  fit$bench_features <- feats
  saveRDS(fit, a[3])
  json(terms = length(fit$selected.terms), features = length(feats), rsq = fit$rsq)
} else if (a[1] == "mem") {
  fit <- readRDS(a[2])
  d <- fread(a[3], select = fit$bench_features)
  df <- as.data.frame(d)
  m <- as.matrix(d)
  runs <- as.integer(a[4])
  tm <- function(nd) median(vapply(seq_len(runs), function(i) {
    t0 <- proc.time()[["elapsed"]]; y <<- predict(fit, newdata = nd); proc.time()[["elapsed"]] - t0
  }, 0))
  t_matrix <- tm(m)
  t_df <- tm(df)
  json(rows = nrow(m), runs = runs, terms = length(fit$selected.terms),
       matrix_s = t_matrix, dataframe_s = t_df, checksum = sum(y))
} else if (a[1] == "csv") {
  fit <- readRDS(a[2])
  d <- fread(a[3], select = fit$bench_features)
  y <- predict(fit, newdata = d)
  fwrite(data.table(prediction = as.vector(y)), a[4])
} else {
  stop("usage: r_bench.R fit|mem|csv ...")
}
