/*
 * GOST R 34.11-2012 "Streebog" hash (RFC 6986), 256- and 512-bit, as a CPython extension.
 *
 * Why native: GIS ZhKKh signatures digest the canonicalised message (hundreds of KiB) with Streebog;
 * a pure-Python implementation runs at about 0.2 MiB/s. This one runs at C speed and releases the
 * GIL while hashing, so other request threads go on.
 *
 * Representation: a 512-bit vector is 64 bytes, least significant byte first, read as eight 64-bit
 * little-endian words. In that representation the message is consumed from its first byte, the
 * padding byte 0x01 follows the tail, and the 256-bit digest is the upper half of h. Digests are
 * returned in this byte order, which is the order implementations and XMLDSig use (RFC 6986 prints
 * the same values most significant byte first).
 *
 * LPS = L(P(S(x))) is computed with eight 256-entry tables: word j of the result is
 * XOR over r of T[r][byte j of input word r], where T[r][v] = XOR of A[8r + t] over the set bits t of
 * pi[v]. (P is the 8x8 byte transpose: byte r of result word j is byte j of input word r; S is pi on
 * every byte; l multiplies bit k of a word by A[k].)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "_streebog_tables.h"

static uint64_t LPS_TABLE[8][256];
static uint64_t C64[12][8];

static void build_tables(void) {
    for (int r = 0; r < 8; r++) {
        for (int v = 0; v < 256; v++) {
            uint64_t acc = 0;
            uint8_t s = STREEBOG_PI[v];
            for (int t = 0; t < 8; t++) {
                if (s & (1u << t)) {
                    acc ^= STREEBOG_A[8 * r + t];
                }
            }
            LPS_TABLE[r][v] = acc;
        }
    }
    for (int i = 0; i < 12; i++) {
        for (int j = 0; j < 8; j++) {
            uint64_t w = 0;
            for (int k = 7; k >= 0; k--) {
                w = (w << 8) | STREEBOG_C[i][8 * j + k];
            }
            C64[i][j] = w;
        }
    }
}

static inline void load(uint64_t out[8], const uint8_t *in) {
    for (int j = 0; j < 8; j++) {
        uint64_t w = 0;
        for (int k = 7; k >= 0; k--) {
            w = (w << 8) | in[8 * j + k];
        }
        out[j] = w;
    }
}

static inline void store(uint8_t *out, const uint64_t in[8]) {
    for (int j = 0; j < 8; j++) {
        for (int k = 0; k < 8; k++) {
            out[8 * j + k] = (uint8_t)(in[j] >> (8 * k));
        }
    }
}

static inline void lps(uint64_t out[8], const uint64_t in[8]) {
    for (int j = 0; j < 8; j++) {
        int shift = 8 * j;
        out[j] = LPS_TABLE[0][(in[0] >> shift) & 0xff] ^ LPS_TABLE[1][(in[1] >> shift) & 0xff] ^
                 LPS_TABLE[2][(in[2] >> shift) & 0xff] ^ LPS_TABLE[3][(in[3] >> shift) & 0xff] ^
                 LPS_TABLE[4][(in[4] >> shift) & 0xff] ^ LPS_TABLE[5][(in[5] >> shift) & 0xff] ^
                 LPS_TABLE[6][(in[6] >> shift) & 0xff] ^ LPS_TABLE[7][(in[7] >> shift) & 0xff];
    }
}

/* g_N(h, m) = E(LPS(h ^ N), m) ^ h ^ m, with E(K, m) = X[K13] LPSX[K12] ... LPSX[K1](m). */
static void compress(uint64_t h[8], const uint64_t n[8], const uint64_t m[8]) {
    uint64_t key[8], state[8], tmp[8];
    for (int j = 0; j < 8; j++) {
        tmp[j] = h[j] ^ n[j];
    }
    lps(key, tmp);
    for (int j = 0; j < 8; j++) {
        state[j] = key[j] ^ m[j];
    }
    for (int i = 0; i < 12; i++) {
        lps(tmp, state);
        memcpy(state, tmp, sizeof state);
        for (int j = 0; j < 8; j++) {
            tmp[j] = key[j] ^ C64[i][j];
        }
        lps(key, tmp);
        for (int j = 0; j < 8; j++) {
            state[j] ^= key[j];
        }
    }
    for (int j = 0; j < 8; j++) {
        h[j] ^= state[j] ^ m[j];
    }
}

/* a = a + b mod 2^512 */
static inline void add512(uint64_t a[8], const uint64_t b[8]) {
    uint64_t carry = 0;
    for (int j = 0; j < 8; j++) {
        uint64_t sum = a[j] + b[j];
        uint64_t c1 = sum < a[j];
        uint64_t total = sum + carry;
        uint64_t c2 = total < sum;
        a[j] = total;
        carry = c1 | c2;
    }
}

static inline void add_bits(uint64_t n[8], uint64_t bits) {
    uint64_t b[8] = {bits, 0, 0, 0, 0, 0, 0, 0};
    add512(n, b);
}

static void streebog(const uint8_t *data, size_t len, int bits256, uint8_t *out) {
    uint64_t h[8], n[8] = {0}, sigma[8] = {0}, m[8], zero[8] = {0};
    uint8_t block[64];
    memset(h, bits256 ? 0x01 : 0x00, sizeof h);
    while (len >= 64) {
        load(m, data);
        compress(h, n, m);
        add_bits(n, 512);
        add512(sigma, m);
        data += 64;
        len -= 64;
    }
    memset(block, 0, sizeof block);
    memcpy(block, data, len);
    block[len] = 0x01;
    load(m, block);
    compress(h, n, m);
    add_bits(n, (uint64_t)len * 8);
    add512(sigma, m);
    compress(h, zero, n);
    compress(h, zero, sigma);
    store(block, h);
    if (bits256) {
        memcpy(out, block + 32, 32);
    } else {
        memcpy(out, block, 64);
    }
}

static PyObject *digest(PyObject *args, int bits256) {
    Py_buffer view;
    uint8_t out[64];
    if (!PyArg_ParseTuple(args, "y*", &view)) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    streebog((const uint8_t *)view.buf, (size_t)view.len, bits256, out);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyBytes_FromStringAndSize((const char *)out, bits256 ? 32 : 64);
}

static PyObject *py_digest256(PyObject *self, PyObject *args) {
    (void)self;
    return digest(args, 1);
}

static PyObject *py_digest512(PyObject *self, PyObject *args) {
    (void)self;
    return digest(args, 0);
}

static PyMethodDef methods[] = {
    {"digest256", py_digest256, METH_VARARGS, "GOST R 34.11-2012 (Streebog) 256-bit digest of a bytes-like object."},
    {"digest512", py_digest512, METH_VARARGS, "GOST R 34.11-2012 (Streebog) 512-bit digest of a bytes-like object."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_streebog", "GOST R 34.11-2012 (Streebog) hash, RFC 6986.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__streebog(void) {
    build_tables();
    return PyModule_Create(&module);
}
