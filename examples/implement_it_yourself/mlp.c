/* A hand-written MLP, checked against a scratchnet trace: Dense(relu) -> [Dropout] ->
 * Dense(softmax), mean squared error, one SGD step. Plain C99, float32, no libraries.
 *
 *   scratchnet trace mnist-mlp --loss mean_squared_error --optimizer sgd --out trace
 *   cc -O2 -o mlp mlp.c -lm && ./mlp trace mine 0.01
 *   scratchnet compare trace mine
 *
 * Sizes come from the trace's file sizes (N*IN inputs, IN*H kernel, H and K biases); the layer
 * names are mnist-mlp's: dense, dropout (its mask is replayed if present), dense_1.
 * Build with -DBUG_RELU_001, -DBUG_SUM_BATCH, -DBUG_TRANSPOSED_GRAD or -DBUG_CE_SHORTCUT to
 * inject one of the classic bugs and see what compare says.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *trace_dir, *out_dir;

static float *read_tensor(const char *name, long *count, int required) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", trace_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (!required) return NULL;
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    *count = ftell(f) / (long)sizeof(float);
    fseek(f, 0, SEEK_SET);
    float *data = malloc((size_t)*count * sizeof(float));
    if (!data || fread(data, sizeof(float), (size_t)*count, f) != (size_t)*count) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    return data;
}

static void write_tensor(const char *name, const float *data, long count) {
    char path[4096], dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", out_dir, name);
    *strrchr(dir, '/') = '\0';                      /* mkdir OUT and OUT/<layer> */
    mkdir(out_dir, 0777);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) { perror(dir); exit(2); }
    snprintf(path, sizeof path, "%s/%s.bin", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, sizeof(float), (size_t)count, f) != (size_t)count) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

/* z[n][o] = sum_i x[n][i] * w[i][o] + b[o]; kernel layout (in, out), as Keras. */
static void dense_forward(const float *x, const float *w, const float *b, float *z,
                          long n, long in, long out) {
    for (long s = 0; s < n; s++)
        for (long o = 0; o < out; o++) {
            float acc = b[o];
            for (long i = 0; i < in; i++) acc += x[s * in + i] * w[i * out + o];
            z[s * out + o] = acc;
        }
}

/* From g = d loss / d z: grad_w (in, out), grad_b (out), grad_x (n, in). */
static void dense_backward(const float *x, const float *w, const float *g, float *gw, float *gb,
                           float *gx, long n, long in, long out) {
    for (long i = 0; i < in; i++)
        for (long o = 0; o < out; o++) {
            float acc = 0;
            for (long s = 0; s < n; s++) acc += x[s * in + i] * g[s * out + o];
#ifdef BUG_TRANSPOSED_GRAD
            gw[o * in + i] = acc;                  /* BUG: stored as (out, in) */
#else
            gw[i * out + o] = acc;
#endif
        }
    for (long o = 0; o < out; o++) {
        float acc = 0;
        for (long s = 0; s < n; s++) acc += g[s * out + o];
        gb[o] = acc;
    }
    for (long s = 0; s < n; s++)
        for (long i = 0; i < in; i++) {
            float acc = 0;
            for (long o = 0; o < out; o++) acc += g[s * out + o] * w[i * out + o];
            gx[s * in + i] = acc;
        }
}

/* w (in, out) -= lr * grad, reading the gradient in the layout dense_backward stored it. */
static void sgd_kernel(float *w, const float *g, long in, long out, float lr) {
    for (long i = 0; i < in; i++)
        for (long o = 0; o < out; o++) {
#ifdef BUG_TRANSPOSED_GRAD
            w[i * out + o] -= lr * g[o * in + i];
#else
            w[i * out + o] -= lr * g[i * out + o];
#endif
        }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s TRACE_DIR OUT_DIR LEARNING_RATE\n", argv[0]);
        return 2;
    }
    trace_dir = argv[1];
    out_dir = argv[2];
    float lr = (float)atof(argv[3]);
    long nx, ny, nw1, h, nw2, k, nmask = 0;
    float *x = read_tensor("input/x", &nx, 1), *y = read_tensor("input/y", &ny, 1);
    float *w1 = read_tensor("dense/kernel", &nw1, 1), *b1 = read_tensor("dense/bias", &h, 1);
    float *w2 = read_tensor("dense_1/kernel", &nw2, 1), *b2 = read_tensor("dense_1/bias", &k, 1);
    float *mask = read_tensor("dropout/mask", &nmask, 0);
    long in = nw1 / h, n = nx / in;

    float *z1 = malloc(n * h * sizeof(float)), *a1 = malloc(n * h * sizeof(float));
    float *d1 = malloc(n * h * sizeof(float)), *z2 = malloc(n * k * sizeof(float));
    float *p = malloc(n * k * sizeof(float)), *gp = malloc(n * k * sizeof(float));
    float *gz2 = malloc(n * k * sizeof(float)), *gd1 = malloc(n * h * sizeof(float));
    float *ga1 = malloc(n * h * sizeof(float)), *gz1 = malloc(n * h * sizeof(float));
    float *gx = malloc(n * in * sizeof(float)), *gw1 = malloc(nw1 * sizeof(float));
    float *gw2 = malloc(nw2 * sizeof(float)), *gb1 = malloc(h * sizeof(float));
    float *gb2 = malloc(k * sizeof(float));

    /* forward */
    dense_forward(x, w1, b1, z1, n, in, h);
    for (long j = 0; j < n * h; j++) a1[j] = z1[j] > 0 ? z1[j] : 0;
    for (long j = 0; j < n * h; j++) d1[j] = mask ? a1[j] * mask[j] : a1[j];
    dense_forward(d1, w2, b2, z2, n, h, k);
    for (long s = 0; s < n; s++) {                 /* softmax, max subtracted */
        float top = z2[s * k], sum = 0;
        for (long c = 1; c < k; c++) top = fmaxf(top, z2[s * k + c]);
        for (long c = 0; c < k; c++) sum += p[s * k + c] = expf(z2[s * k + c] - top);
        for (long c = 0; c < k; c++) p[s * k + c] /= sum;
    }
    /* mean squared error: mean over the batch and the outputs */
    float loss = 0;
    for (long j = 0; j < n * k; j++) loss += (p[j] - y[j]) * (p[j] - y[j]);
    loss /= (float)(n * k);
    for (long j = 0; j < n * k; j++)
#ifdef BUG_SUM_BATCH
        gp[j] = 2 * (p[j] - y[j]) / (float)k;      /* BUG: not divided by the batch size */
#else
        gp[j] = 2 * (p[j] - y[j]) / (float)(n * k);
#endif
    /* backward through the softmax Jacobian: gz = p * (g - sum(g * p)) */
    for (long s = 0; s < n; s++) {
        float dot = 0;
        for (long c = 0; c < k; c++) dot += gp[s * k + c] * p[s * k + c];
        for (long c = 0; c < k; c++) {
            long j = s * k + c;
#ifdef BUG_CE_SHORTCUT
            gz2[j] = (p[j] - y[j]) / (float)n;     /* BUG: the cross-entropy shortcut */
            (void)dot;
#else
            gz2[j] = p[j] * (gp[j] - dot);
#endif
        }
    }
    dense_backward(d1, w2, gz2, gw2, gb2, gd1, n, h, k);
    for (long j = 0; j < n * h; j++) ga1[j] = mask ? gd1[j] * mask[j] : gd1[j];
    for (long j = 0; j < n * h; j++)
#ifdef BUG_RELU_001
        gz1[j] = z1[j] > 0 ? ga1[j] : 0.01f;       /* BUG: a constant, not 0 * grad */
#else
        gz1[j] = z1[j] > 0 ? ga1[j] : 0;
#endif
    dense_backward(x, w1, gz1, gw1, gb1, gx, n, in, h);

    write_tensor("dense/pre_activation", z1, n * h);
    write_tensor("dense/output", a1, n * h);
    if (mask) write_tensor("dropout/output", d1, n * h);
    write_tensor("dense_1/pre_activation", z2, n * k);
    write_tensor("dense_1/output", p, n * k);
    write_tensor("loss/value", &loss, 1);
#ifndef BUG_CE_SHORTCUT
    write_tensor("loss/grad", gp, n * k);
#endif
    write_tensor("dense_1/grad_pre_activation", gz2, n * k);
    write_tensor("dense_1/grad_kernel", gw2, nw2);
    write_tensor("dense_1/grad_bias", gb2, k);
    write_tensor("dense_1/grad_input", gd1, n * h);
    write_tensor("dense/grad_output", ga1, n * h);
    write_tensor("dense/grad_pre_activation", gz1, n * h);
    write_tensor("dense/grad_kernel", gw1, nw1);
    write_tensor("dense/grad_bias", gb1, h);

    /* one SGD step: w -= lr * g */
    sgd_kernel(w1, gw1, in, h, lr);
    sgd_kernel(w2, gw2, h, k, lr);
    for (long o = 0; o < h; o++) b1[o] -= lr * gb1[o];
    for (long o = 0; o < k; o++) b2[o] -= lr * gb2[o];
    write_tensor("dense/kernel_after_step", w1, nw1);
    write_tensor("dense/bias_after_step", b1, h);
    write_tensor("dense_1/kernel_after_step", w2, nw2);
    write_tensor("dense_1/bias_after_step", b2, k);
    return 0;
}
