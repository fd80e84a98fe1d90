#include <cblas.h>
// Declared here too in case the cblas.h alternative on the system is not OpenBLAS's own.
void openblas_set_num_threads(int num_threads);
// The kernel family OpenBLAS's runtime dispatch chose for this CPU ("Haswell", "SkylakeX", …).
char *openblas_get_corename(void);
