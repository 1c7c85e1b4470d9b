/* Preloaded in the sanitizer runs (scripts/sanitize-tests.sh): dlclose does nothing, so the
 * plug-ins Open MPI unloads in MPI_Finalize stay mapped until LeakSanitizer reports. Their
 * frames then name their module (mca_*.so), which lsan.supp suppresses, and ASan's fast unwinder
 * is enough: without this, only the slow unwinder reached a frame of libmpi past a plug-in with
 * no frame pointer, and it doubled the time of the sanitized tests. */
int dlclose(void* handle) {
  (void)handle;
  return 0;
}
