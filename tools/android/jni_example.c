/* mobicl from an Android app: the JNI side of tools/android/MobiclClassifier.kt.
 *
 * One network per Kotlin object: an OpenCL context, the graph (a model-zoo
 * network, or an ONNX model from the app's assets) and a plan compiled for
 * the context. Every failure becomes a Java
 * exception whose message is mcl_last_error(), so nothing is lost between
 * C and Kotlin. A plan is used by one thread at a time: the Kotlin class
 * serialises its calls.
 *
 * Build it into the app's libmobicl_jni.so together with the static library
 * (see tools/android/README.md); it also compiles and runs on desktop Linux
 * against a JDK (tools/android/jni_host_check.sh), where the AAssetManager
 * part is left out. */
#include <jni.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mobicl.h>
#include <mobicl_graph.h>
#include <mobicl_onnx.h>

#ifdef __ANDROID__
#include <android/asset_manager.h>
#include <android/asset_manager_jni.h>
#include <android/log.h>
#endif

typedef struct mcl_jni_net {
    mcl_context *ctx;
    mcl_graph *graph;
    mcl_plan *plan;
    mcl_shape in_shape, out_shape;
    size_t in_count, out_count;
} mcl_jni_net;

/* Throws `cls` with `msg`; returns 0 for convenience. */
static jlong throw_msg(JNIEnv *env, const char *cls, const char *msg)
{
    jclass c = (*env)->FindClass(env, cls);
    if (c) /* else FindClass has already thrown NoClassDefFoundError */
        (*env)->ThrowNew(env, c, msg);
    return 0;
}

/* After a failed mobicl call: throws `cls` with "<what>: <mcl_last_error()>". */
static jlong throw_mcl(JNIEnv *env, const char *cls, const char *what)
{
    char msg[1024];
    const char *detail = mcl_last_error();
    snprintf(msg, sizeof msg, "%s%s%s", what, detail[0] ? ": " : "", detail);
    return throw_msg(env, cls, msg);
}

static void net_free(mcl_jni_net *n)
{
    if (!n)
        return;
    mcl_plan_destroy(n->plan);   /* all destroy calls accept NULL */
    mcl_graph_destroy(n->graph);
    mcl_context_destroy(n->ctx);
    free(n);
}

#ifdef __ANDROID__
static void log_to_logcat(void *user, mcl_log_level level, const char *message)
{
    (void)user;
    int prio = level == MCL_LOG_ERROR ? ANDROID_LOG_ERROR : level == MCL_LOG_WARN ? ANDROID_LOG_WARN : ANDROID_LOG_INFO;
    __android_log_print(prio, "mobicl", "%s", message);
}
#endif

/* Takes ownership of `g` (a built graph): context, plan, shapes. */
static jlong net_create(JNIEnv *env, mcl_graph *g, jstring cache_dir)
{
    mcl_jni_net *n = calloc(1, sizeof *n);
    if (!n) {
        mcl_graph_destroy(g);
        return throw_mcl(env, "java/lang/OutOfMemoryError", "mobicl: network state");
    }
    n->graph = g;

    /* The binary program cache makes every start after the first fast:
     * pass the app's cache directory (Context.getCacheDir()/mobicl). */
    const char *dir = cache_dir ? (*env)->GetStringUTFChars(env, cache_dir, NULL) : NULL;
    mcl_context_options opt;
    memset(&opt, 0, sizeof opt);
    opt.cache_dir = dir; /* copied by mcl_context_create */
#ifdef __ANDROID__
    opt.log = log_to_logcat;
    opt.log_level = MCL_LOG_WARN;
#endif
    mcl_status st = mcl_context_create(&opt, &n->ctx);
    if (dir)
        (*env)->ReleaseStringUTFChars(env, cache_dir, dir);
    if (st != MCL_STATUS_OK) {
        throw_mcl(env, "java/lang/IllegalStateException", "mobicl: cannot create an OpenCL context");
        net_free(n);
        return 0;
    }
    if (mcl_plan_create(n->ctx, n->graph, NULL, &n->plan) != MCL_STATUS_OK) {
        throw_mcl(env, "java/lang/IllegalStateException", "mobicl: cannot plan the network");
        net_free(n);
        return 0;
    }
    if (mcl_graph_value_shape(n->graph, mcl_graph_input_value(n->graph, 0), &n->in_shape) != MCL_STATUS_OK ||
        mcl_plan_output_shape(n->plan, 0, &n->out_shape) != MCL_STATUS_OK) {
        throw_mcl(env, "java/lang/IllegalStateException", "mobicl: network shapes");
        net_free(n);
        return 0;
    }
    n->in_count = mcl_shape_count(&n->in_shape);
    n->out_count = mcl_shape_count(&n->out_shape);
    return (jlong)(intptr_t)n;
}

static mcl_jni_net *net_of(JNIEnv *env, jlong handle)
{
    mcl_jni_net *n = (mcl_jni_net *)(intptr_t)handle;
    if (!n) {
        jclass c = (*env)->FindClass(env, "java/lang/IllegalStateException");
        if (c)
            (*env)->ThrowNew(env, c, "mobicl: the classifier is closed");
    }
    return n;
}

/* private external fun nativeCreateZoo(model: String, cacheDir: String?): Long */
JNIEXPORT jlong JNICALL Java_com_example_mobicl_MobiclClassifier_nativeCreateZoo(JNIEnv *env, jobject self,
                                                                                  jstring model, jstring cache_dir)
{
    (void)self;
    if (!model)
        return throw_mcl(env, "java/lang/IllegalArgumentException", "mobicl: model name is null");
    const char *name = (*env)->GetStringUTFChars(env, model, NULL);
    if (!name)
        return 0; /* OutOfMemoryError pending */
    /* e.g. "shufflenet_v2_x1_0", "mobilenet_v2", "mnasnet1_0": mcl_zoo_names().
     * Zoo networks have the real architectures with seeded random weights:
     * right for latency and memory measurements, not for real labels. */
    mcl_zoo_options zo;
    memset(&zo, 0, sizeof zo); /* 0 = each network's default: 224x224, 1000 classes */
    mcl_graph *g = NULL;
    mcl_status st = mcl_zoo_build(name, &zo, &g);
    (*env)->ReleaseStringUTFChars(env, model, name);
    if (st != MCL_STATUS_OK)
        return throw_mcl(env, "java/lang/IllegalArgumentException", "mobicl: model zoo");
    return net_create(env, g, cache_dir);
}

/* private external fun nativeCreateFromAsset(assets: AssetManager, path: String, cacheDir: String?): Long
 *
 * An ONNX model the app ships in src/main/assets/ (opsets 9-17, weights in
 * the file: external data files cannot be read from assets), imported from
 * the asset's bytes by mcl_onnx_load_memory: the graph keeps copies of the
 * weights, so the asset is closed right after. An op mobicl does not
 * support (or a mobicl built without protobuf-c) throws
 * UnsupportedOperationException, a broken model IllegalArgumentException,
 * both with mcl_last_error(). */
JNIEXPORT jlong JNICALL Java_com_example_mobicl_MobiclClassifier_nativeCreateFromAsset(JNIEnv *env, jobject self,
                                                                                        jobject assets, jstring path,
                                                                                        jstring cache_dir)
{
    (void)self;
#ifdef __ANDROID__
    if (!assets || !path)
        return throw_msg(env, "java/lang/IllegalArgumentException", "mobicl: asset manager or path is null");
    AAssetManager *am = AAssetManager_fromJava(env, assets);
    const char *p = (*env)->GetStringUTFChars(env, path, NULL);
    if (!p)
        return 0;
    /* Path relative to the assets folder, e.g. "models/shufflenet_v2_x1_0.onnx".
     * AASSET_MODE_BUFFER maps uncompressed assets; add
     * `androidResources { noCompress += "onnx" }` to build.gradle(.kts). */
    AAsset *a = am ? AAssetManager_open(am, p, AASSET_MODE_BUFFER) : NULL;
    char what[512];
    snprintf(what, sizeof what, "mobicl: asset \"%s\"", p);
    (*env)->ReleaseStringUTFChars(env, path, p);
    if (!a)
        return throw_msg(env, "java/io/FileNotFoundException", what);
    const void *bytes = AAsset_getBuffer(a);
    off_t size = AAsset_getLength(a);
    if (!bytes || size <= 0) {
        AAsset_close(a);
        return throw_msg(env, "java/io/IOException", what);
    }
    mcl_graph *g = NULL;
    mcl_status st = mcl_onnx_load_memory(bytes, (size_t)size, NULL, NULL, &g);
    AAsset_close(a);
    if (st != MCL_STATUS_OK)
        return throw_mcl(env,
                         st == MCL_STATUS_UNSUPPORTED ? "java/lang/UnsupportedOperationException"
                                                      : "java/lang/IllegalArgumentException",
                         what);
    return net_create(env, g, cache_dir);
#else
    (void)assets;
    (void)path;
    (void)cache_dir;
    jclass c = (*env)->FindClass(env, "java/lang/UnsupportedOperationException");
    if (c)
        (*env)->ThrowNew(env, c, "mobicl: assets exist on Android only");
    return 0;
#endif
}

/* private external fun nativeInputShape(handle: Long): IntArray  ([n, c, h, w]) */
JNIEXPORT jintArray JNICALL Java_com_example_mobicl_MobiclClassifier_nativeInputShape(JNIEnv *env, jobject self,
                                                                                       jlong handle)
{
    (void)self;
    mcl_jni_net *n = net_of(env, handle);
    if (!n)
        return NULL;
    jint dims[4] = {(jint)n->in_shape.n, (jint)n->in_shape.c, (jint)n->in_shape.h, (jint)n->in_shape.w};
    jintArray r = (*env)->NewIntArray(env, 4);
    if (r)
        (*env)->SetIntArrayRegion(env, r, 0, 4, dims);
    return r;
}

/* private external fun nativeDeviceName(handle: Long): String */
JNIEXPORT jstring JNICALL Java_com_example_mobicl_MobiclClassifier_nativeDeviceName(JNIEnv *env, jobject self,
                                                                                    jlong handle)
{
    (void)self;
    mcl_jni_net *n = net_of(env, handle);
    return n ? (*env)->NewStringUTF(env, mcl_context_device_info(n->ctx)->name) : NULL;
}

/* private external fun nativeRun(handle: Long, input: FloatArray): FloatArray
 * input: NCHW floats (n*c*h*w of nativeInputShape); returns the logits. */
JNIEXPORT jfloatArray JNICALL Java_com_example_mobicl_MobiclClassifier_nativeRun(JNIEnv *env, jobject self,
                                                                                 jlong handle, jfloatArray input)
{
    (void)self;
    mcl_jni_net *n = net_of(env, handle);
    if (!n)
        return NULL;
    if (!input || (size_t)(*env)->GetArrayLength(env, input) != n->in_count) {
        char msg[160];
        snprintf(msg, sizeof msg, "mobicl: input must hold %zu floats (%u x %u x %u x %u NCHW)", n->in_count,
                 n->in_shape.n, n->in_shape.c, n->in_shape.h, n->in_shape.w);
        jclass c = (*env)->FindClass(env, "java/lang/IllegalArgumentException");
        if (c)
            (*env)->ThrowNew(env, c, msg);
        return NULL;
    }
    /* mcl_plan_set_input blocks until the data is on the device, so a
     * plain copy of the Java array is enough (no pinning across OpenCL calls). */
    float *x = malloc(n->in_count * sizeof *x);
    if (!x) {
        throw_mcl(env, "java/lang/OutOfMemoryError", "mobicl: input");
        return NULL;
    }
    (*env)->GetFloatArrayRegion(env, input, 0, (jsize)n->in_count, x);
    mcl_status st = mcl_plan_set_input(n->plan, 0, x, n->in_count);
    free(x);
    if (st != MCL_STATUS_OK) {
        throw_mcl(env, "java/lang/IllegalStateException", "mobicl: set input");
        return NULL;
    }
    if (mcl_plan_run(n->plan, 0) != MCL_STATUS_OK) {
        throw_mcl(env, "java/lang/IllegalStateException", "mobicl: run");
        return NULL;
    }
    float *y = malloc(n->out_count * sizeof *y);
    if (!y) {
        throw_mcl(env, "java/lang/OutOfMemoryError", "mobicl: output");
        return NULL;
    }
    jfloatArray out = NULL;
    if (mcl_plan_get_output(n->plan, 0, y, n->out_count) != MCL_STATUS_OK) { /* blocks until done */
        throw_mcl(env, "java/lang/IllegalStateException", "mobicl: read output");
    } else if ((out = (*env)->NewFloatArray(env, (jsize)n->out_count)) != NULL) {
        (*env)->SetFloatArrayRegion(env, out, 0, (jsize)n->out_count, y);
    }
    free(y);
    return out;
}

/* private external fun nativeDestroy(handle: Long) */
JNIEXPORT void JNICALL Java_com_example_mobicl_MobiclClassifier_nativeDestroy(JNIEnv *env, jobject self, jlong handle)
{
    (void)env;
    (void)self;
    net_free((mcl_jni_net *)(intptr_t)handle);
}
