/* header_arrow_test.cpp — header_arrow_test.c compiled as C++: marsreplay.h
 * and another copy of the Arrow C interface structs, in both orders, leave
 * one definition in C++ too. */
#include "header_arrow_test.c"
