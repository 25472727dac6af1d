/* netring._accel: optional C versions of a few pure-Python loops.
 *
 * Built by pip from this source when a C compiler and the Python headers are
 * present; netring works without it (every function here has its pure-Python
 * original, which stays the reference and is tested against this one).  Set
 * NETRING_PURE=1 in the environment to use the pure-Python code even when this
 * module is built.
 *
 * copy_strided(dst, dpos, dstep, src, spos, sstep, size, count)
 *     netring.strided.copy_strided: item i's `size` bytes from
 *     src[spos + i*sstep:] to dst[dpos + i*dstep:], for i < count.  One memmove
 *     per item, where the pure version needs one strided memoryview assignment
 *     per field unit (CPython copies those element by element).  Every item must
 *     lie inside both buffers (ValueError otherwise, before anything is written).
 *
 * uniform_fields(buf, step, count, fields)
 *     netring.strided.uniform_fields: True when every (offset, size) field of
 *     `fields` holds the same bytes in each of `count` items `step` apart
 *     (one memcmp per item and field).
 *
 * gather_checked(buf, pos, step, count, checks, take, limit)
 *     netring.strided.gather_checked: the native u32 at `take` in each of `count`
 *     items `step` apart from `pos`, as a list, when every item holds each
 *     (offset, value) u32 of `checks` and no gathered word exceeds `limit`; else
 *     None.  One pass over the items (each item's words read once), where the
 *     pure version makes one strided pass per checked word.
 *
 * v4_flow_hashes(buf, pos, step, count, k1, k2, port_protocols)
 *     The symmetric flow hash of netring.subsystems.nfnetlink.queue.flow (its
 *     module docstring; k1, k2 and the port protocols are passed from there) of
 *     `count` IPv4 packets with 20-byte headers, `step` apart from `pos`: one
 *     loop in C where the pure version calls a Python function per packet.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* True when `count` items of `size` bytes, `step` apart from `pos`, fit in `len`. */
static int
items_fit(Py_ssize_t len, Py_ssize_t pos, Py_ssize_t step, Py_ssize_t size,
          Py_ssize_t count)
{
    if (pos < 0 || step <= 0 || size < 0 || count <= 0 || pos > len || size > len - pos)
        return 0;
    /* last item: pos + (count - 1) * step + size <= len, without overflow */
    return (count - 1) <= (len - pos - size) / step;
}

/* Check that `name` got `want` arguments, then read args[first .. first+n-1] as
 * Py_ssize_t into out; -1 with the exception set otherwise. */
static int
ssize_args(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t want, const char *name,
           int first, int n, Py_ssize_t *out)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", name, want,
                     nargs);
        return -1;
    }
    for (int k = 0; k < n; k++) {
        out[k] = PyNumber_AsSsize_t(args[first + k], PyExc_OverflowError);
        if (out[k] == -1 && PyErr_Occurred())
            return -1;
    }
    return 0;
}

static PyObject *
copy_strided(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer dst, src;
    Py_ssize_t v[6]; /* dpos, dstep, spos, sstep, size, count */
    static const int at[6] = {1, 2, 4, 5, 6, 7};
    (void)self;
    if (nargs != 8) {
        PyErr_Format(PyExc_TypeError, "copy_strided() takes 8 arguments (%zd given)", nargs);
        return NULL;
    }
    for (int k = 0; k < 6; k++) {
        v[k] = PyNumber_AsSsize_t(args[at[k]], PyExc_OverflowError);
        if (v[k] == -1 && PyErr_Occurred())
            return NULL;
    }
    Py_ssize_t dpos = v[0], dstep = v[1], spos = v[2], sstep = v[3], size = v[4];
    Py_ssize_t count = v[5];
    if (count <= 0 || size == 0)
        return Py_NewRef(Py_None);
    if (PyObject_GetBuffer(args[0], &dst, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[3], &src, PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&dst);
        return NULL;
    }
    if (!items_fit(dst.len, dpos, dstep, size, count) ||
        !items_fit(src.len, spos, sstep, size, count)) {
        PyErr_Format(PyExc_ValueError,
                     "%zd items of %zd bytes (source from %zd, %zd apart; destination "
                     "from %zd, %zd apart) reach outside a source of %zd bytes or a "
                     "destination of %zd bytes",
                     count, size, spos, sstep, dpos, dstep, src.len, dst.len);
        PyBuffer_Release(&src);
        PyBuffer_Release(&dst);
        return NULL;
    }
    char *d = (char *)dst.buf + dpos;
    const char *s = (const char *)src.buf + spos;
    for (Py_ssize_t i = 0; i < count; i++, d += dstep, s += sstep)
        memmove(d, s, (size_t)size);
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    return Py_NewRef(Py_None);
}

static PyObject *
uniform_fields(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer b;
    (void)self;
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "uniform_fields() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    Py_ssize_t step = PyNumber_AsSsize_t(args[1], PyExc_OverflowError);
    if (step == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t count = PyNumber_AsSsize_t(args[2], PyExc_OverflowError);
    if (count == -1 && PyErr_Occurred())
        return NULL;
    PyObject *seq = PySequence_Fast(args[3], "fields must be a sequence of (offset, size)");
    if (seq == NULL)
        return NULL;
    if (PyObject_GetBuffer(args[0], &b, PyBUF_C_CONTIGUOUS) < 0) {
        Py_DECREF(seq);
        return NULL;
    }
    Py_ssize_t nf = PySequence_Fast_GET_SIZE(seq);
    PyObject *result = Py_True;
    if (count <= 0)
        goto done;
    if (step <= 0) {
        PyErr_Format(PyExc_ValueError, "step %zd is not positive", step);
        result = NULL;
        goto done;
    }
    for (int pass = 0; pass < 2 && result == Py_True; pass++) {
        /* pass 0 checks every field's bounds, pass 1 compares */
        for (Py_ssize_t f = 0; f < nf; f++) {
            Py_ssize_t off, size;
            if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, f), "nn;a field is "
                                  "(offset, size)", &off, &size)) {
                result = NULL;
                goto done;
            }
            if (pass == 0) {
                if (off < 0 || size < 0 || !items_fit(b.len, off, step, size, count)) {
                    PyErr_Format(PyExc_ValueError,
                                 "field of %zd bytes at %zd in %zd items %zd apart reaches "
                                 "outside %zd bytes", size, off, count, step, b.len);
                    result = NULL;
                    goto done;
                }
                continue;
            }
            const char *first = (const char *)b.buf + off;
            const char *p = first + step;
            for (Py_ssize_t i = 1; i < count; i++, p += step) {
                if (memcmp(p, first, (size_t)size) != 0) {
                    result = Py_False;
                    break;
                }
            }
            if (result != Py_True)
                break;
        }
    }
done:
    PyBuffer_Release(&b);
    Py_DECREF(seq);
    return result == NULL ? NULL : Py_NewRef(result);
}

#define GATHER_MAX_CHECKS 16

static PyObject *
gather_checked(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer b;
    (void)self;
    Py_ssize_t v[3]; /* pos, step, count */
    if (ssize_args(args, nargs, 7, "gather_checked", 1, 3, v) < 0)
        return NULL;
    Py_ssize_t pos = v[0], step = v[1], count = v[2];
    Py_ssize_t take = PyNumber_AsSsize_t(args[5], PyExc_OverflowError);
    if (take == -1 && PyErr_Occurred())
        return NULL;
    unsigned long long limit = PyLong_AsUnsignedLongLong(args[6]);
    if (limit == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    PyObject *seq = PySequence_Fast(args[4], "checks must be a sequence of (offset, value)");
    if (seq == NULL)
        return NULL;
    Py_ssize_t nc = PySequence_Fast_GET_SIZE(seq);
    Py_ssize_t offs[GATHER_MAX_CHECKS];
    uint32_t vals[GATHER_MAX_CHECKS];
    if (nc > GATHER_MAX_CHECKS) {
        PyErr_Format(PyExc_ValueError, "at most %d checks, not %zd", GATHER_MAX_CHECKS, nc);
        Py_DECREF(seq);
        return NULL;
    }
    for (Py_ssize_t c = 0; c < nc; c++) {
        unsigned long value;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, c), "nk;a check is "
                              "(offset, value)", &offs[c], &value)) {
            Py_DECREF(seq);
            return NULL;
        }
        if (value > 0xFFFFFFFFul) {
            PyErr_Format(PyExc_ValueError, "check value %lu is not a u32", value);
            Py_DECREF(seq);
            return NULL;
        }
        vals[c] = (uint32_t)value;
    }
    Py_DECREF(seq);
    if (count <= 0)
        return PyList_New(0);
    if (step <= 0) {
        PyErr_Format(PyExc_ValueError, "step %zd is not positive", step);
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &b, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    PyObject *out = NULL;
    for (Py_ssize_t c = -1; c < nc; c++) {
        Py_ssize_t off = c < 0 ? take : offs[c];
        if (off < 0 || pos > PY_SSIZE_T_MAX - off || !items_fit(b.len, pos + off, step, 4, count)) {
            PyErr_Format(PyExc_ValueError, "a word at %zd in %zd items %zd apart from %zd "
                         "reaches outside %zd bytes", off, count, step, pos, b.len);
            goto done;
        }
    }
    out = PyList_New(count);
    if (out == NULL)
        goto done;
    const char *p = (const char *)b.buf + pos;
    for (Py_ssize_t i = 0; i < count; i++, p += step) {
        uint32_t w;
        for (Py_ssize_t c = 0; c < nc; c++) {
            memcpy(&w, p + offs[c], 4);
            if (w != vals[c])
                goto refuse;
        }
        memcpy(&w, p + take, 4);
        if (w > limit)
            goto refuse;
        PyObject *x = PyLong_FromUnsignedLong(w);
        if (x == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, i, x);
    }
    goto done;
refuse:
    Py_CLEAR(out);
    out = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&b);
    return out;
}

static uint32_t
be32_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static PyObject *
v4_flow_hashes(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer b, ports;
    (void)self;
    Py_ssize_t v[3]; /* pos, step, count */
    if (ssize_args(args, nargs, 7, "v4_flow_hashes", 1, 3, v) < 0)
        return NULL;
    Py_ssize_t pos = v[0], step = v[1], count = v[2];
    unsigned long long k1 = PyLong_AsUnsignedLongLong(args[4]);
    if (k1 == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    unsigned long long k2 = PyLong_AsUnsignedLongLong(args[5]);
    if (k2 == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    if (count <= 0)
        return PyList_New(0);
    if (PyObject_GetBuffer(args[6], &ports, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (ports.len != 32) {
        PyBuffer_Release(&ports);
        PyErr_SetString(PyExc_ValueError, "the port protocols are a 32-byte bitmap");
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &b, PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&ports);
        return NULL;
    }
    PyObject *out = NULL;
    if (!items_fit(b.len, pos, step, 24, count)) {
        PyErr_Format(PyExc_ValueError, "%zd IPv4 headers %zd apart from %zd reach outside "
                     "%zd bytes", count, step, pos, b.len);
        goto done;
    }
    out = PyList_New(count);
    if (out == NULL)
        goto done;
    const unsigned char *bits = (const unsigned char *)ports.buf;
    const unsigned char *p = (const unsigned char *)b.buf + pos;
    for (Py_ssize_t i = 0; i < count; i++, p += step) {
        unsigned int frag = (unsigned int)p[6] << 8 | p[7];
        unsigned int proto = p[9];
        uint64_t a = (uint64_t)be32_at(p + 12) << 16;
        uint64_t c = (uint64_t)be32_at(p + 16) << 16;
        if ((bits[proto >> 3] >> (proto & 7) & 1) && !(frag & 0x3FFF)) {
            a |= (uint64_t)p[20] << 8 | p[21];
            c |= (uint64_t)p[22] << 8 | p[23];
        }
        if (a > c) {
            uint64_t t = a;
            a = c;
            c = t;
        }
        uint64_t x = a * k1 + c * k2 + (0x400u | proto);
        PyObject *h = PyLong_FromUnsignedLongLong(x ^ (x >> 32));
        if (h == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, i, h);
    }
done:
    PyBuffer_Release(&b);
    PyBuffer_Release(&ports);
    return out;
}

static PyMethodDef methods[] = {
    {"copy_strided", (PyCFunction)(void (*)(void))copy_strided, METH_FASTCALL,
     "copy_strided(dst, dpos, dstep, src, spos, sstep, size, count): item i's size bytes "
     "from src[spos + i*sstep:] to dst[dpos + i*dstep:] (netring.strided.copy_strided)."},
    {"uniform_fields", (PyCFunction)(void (*)(void))uniform_fields, METH_FASTCALL,
     "uniform_fields(buf, step, count, fields): True when each (offset, size) field holds "
     "the same bytes in all count items step apart (netring.strided.uniform_fields)."},
    {"gather_checked", (PyCFunction)(void (*)(void))gather_checked, METH_FASTCALL,
     "gather_checked(buf, pos, step, count, checks, take, limit): the u32 at take of each "
     "item when every item holds its (offset, value) checks and no word exceeds limit, "
     "else None (netring.strided.gather_checked)."},
    {"v4_flow_hashes", (PyCFunction)(void (*)(void))v4_flow_hashes, METH_FASTCALL,
     "v4_flow_hashes(buf, pos, step, count, k1, k2, port_protocols): the symmetric flow "
     "hash of count 20-byte IPv4 headers step apart from pos "
     "(netring.subsystems.nfnetlink.queue.flow; port_protocols: a 32-byte bitmap)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "netring._accel",
    "Optional C versions of netring's strided copies (netring.strided).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__accel(void)
{
    return PyModule_Create(&module);
}
