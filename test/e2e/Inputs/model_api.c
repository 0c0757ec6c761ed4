/* The Model.h C API from C, against the installed runtime (aot-embed.test):
 * introspection, caller-owned outputs, errors for bad arguments, two threads
 * running one model, two models in one process, and loading again after a
 * free.
 *   model_api MODEL.lathe INPUT.npy REFERENCE.npy
 * REFERENCE is lathe-run's output for INPUT (the same compiled code, so the
 * outputs must be identical). */
#include <lathe/runtime/Model.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lathe_host_tensor input, reference;
static lathe_model *model;

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) {                                                             \
      printf("FAILED line %d: %s (%s)\n", __LINE__, #cond,                     \
             lathe_status_message());                                          \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

static size_t bytesOf(const lathe_host_tensor *t) {
  return (size_t)lathe_host_tensor_numel(t) * lathe_dtype_size(t->dtype);
}

/* Runs `m` into a caller-owned buffer; 1 when the output equals the reference. */
static int runMatches(lathe_model *m) {
  lathe_host_tensor out = reference;
  out.data = malloc(bytesOf(&reference));
  int ok = lathe_model_run(m, &input, 1, &out, 1) == LATHE_OK &&
           memcmp(out.data, reference.data, bytesOf(&reference)) == 0;
  free(out.data);
  return ok;
}

static void *worker(void *arg) {
  (void)arg;
  for (int i = 0; i < 10; ++i)
    if (!runMatches(model))
      return (void *)1;
  return NULL;
}

static void expectError(lathe_status got, lathe_status want) {
  printf("%s: %s\n", lathe_status_name(got), lathe_status_message());
  EXPECT(got == want);
}

int main(int argc, char **argv) {
  EXPECT(argc == 4);
  EXPECT(lathe_npy_read(argv[2], &input) == LATHE_OK);
  EXPECT(lathe_npy_read(argv[3], &reference) == LATHE_OK);
  EXPECT(lathe_model_load(argv[1], &model) == LATHE_OK);
  EXPECT(strcmp(lathe_status_message(), "") == 0);

  lathe_tensor_info info;
  EXPECT(lathe_model_num_inputs(model) == 1);
  EXPECT(lathe_model_num_outputs(model) == 1);
  EXPECT(lathe_model_input_info(model, 0, &info) == LATHE_OK);
  printf("input %s %s rank %d [%lld, %lld, %lld]\n", info.name,
         lathe_dtype_name(info.dtype), info.rank, (long long)info.dims[0],
         (long long)info.dims[1], (long long)info.dims[2]);
  EXPECT(lathe_model_output_info(model, 0, &info) == LATHE_OK);
  printf("output %s %s rank %d\n", info.name, lathe_dtype_name(info.dtype),
         info.rank);
  printf("entry %s precision %s\n", lathe_model_metadata(model, "entry"),
         lathe_model_metadata(model, "precision"));
  EXPECT(lathe_model_metadata(model, "no-such-key") == NULL);

  /* Caller-owned and run-allocated outputs. */
  EXPECT(runMatches(model));
  lathe_host_tensor allocated = {LATHE_F32, 0, {0}, NULL};
  EXPECT(lathe_model_run(model, &input, 1, &allocated, 1) == LATHE_OK);
  EXPECT(allocated.rank == reference.rank &&
         memcmp(allocated.data, reference.data, bytesOf(&reference)) == 0);
  lathe_host_tensor_free(&allocated);
  printf("outputs match\n");

  /* Bad arguments: an error, never a crash; the model still runs after. */
  lathe_host_tensor out = reference, bad = input;
  out.data = malloc(bytesOf(&reference));
  expectError(lathe_model_input_info(model, 1, &info), LATHE_ERR_INVALID);
  expectError(lathe_model_run(model, &input, 2, &out, 1), LATHE_ERR_INVALID);
  expectError(lathe_model_run(model, &input, 1, &out, 0), LATHE_ERR_INVALID);
  expectError(lathe_model_run(NULL, &input, 1, &out, 1), LATHE_ERR_INVALID);
  bad.shape[1] = 64;
  expectError(lathe_model_run(model, &bad, 1, &out, 1), LATHE_ERR_SHAPE);
  bad = input;
  bad.rank = 2;
  expectError(lathe_model_run(model, &bad, 1, &out, 1), LATHE_ERR_SHAPE);
  bad = input;
  bad.dtype = LATHE_F64;
  expectError(lathe_model_run(model, &bad, 1, &out, 1), LATHE_ERR_DTYPE);
  bad = input;
  bad.data = NULL;
  expectError(lathe_model_run(model, &bad, 1, &out, 1), LATHE_ERR_INVALID);
  lathe_host_tensor wrongOut = out;
  wrongOut.shape[2] = 255;
  expectError(lathe_model_run(model, &input, 1, &wrongOut, 1), LATHE_ERR_SHAPE);
  wrongOut = out;
  wrongOut.dtype = LATHE_I32;
  expectError(lathe_model_run(model, &input, 1, &wrongOut, 1), LATHE_ERR_DTYPE);
  free(out.data);
  EXPECT(runMatches(model));
  printf("errors reported\n");

  /* Two threads on one model. */
  pthread_t threads[2];
  for (int t = 0; t < 2; ++t)
    EXPECT(pthread_create(&threads[t], NULL, worker, NULL) == 0);
  for (int t = 0; t < 2; ++t) {
    void *result;
    EXPECT(pthread_join(threads[t], &result) == 0 && result == NULL);
  }
  printf("two threads match\n");

  /* Two models at once; then free one and load again. */
  lathe_model *second = NULL;
  EXPECT(lathe_model_load(argv[1], &second) == LATHE_OK);
  EXPECT(runMatches(second) && runMatches(model));
  lathe_model_free(model);
  EXPECT(runMatches(second));
  EXPECT(lathe_model_load(argv[1], &model) == LATHE_OK);
  EXPECT(runMatches(model) && runMatches(second));
  lathe_model_free(second);
  lathe_model_free(model);
  printf("reload matches\n");
  lathe_host_tensor_free(&input);
  lathe_host_tensor_free(&reference);
  return 0;
}
