#!/usr/bin/env bash
# Checks tools/android/jni_example.c on desktop Linux, without the NDK:
#   1. builds mobicl with -DMOBICL_ANDROID=ON (libOpenCL.so dlopen'ed at run
#      time, as on a phone) into build-android-host/;
#   2. compiles jni_example.c with -std=c11 -pedantic -Werror against the
#      JDK's jni.h, once as is and once with -D__ANDROID__ against minimal
#      stand-ins for the NDK's <android/asset_manager*.h> and <android/log.h>
#      (same declarations as the NDK's), so the asset code is compiled too;
#   3. links libmobicl_jni.so (+ the static library, -Wl,--no-undefined);
#   4. runs a Java class with the same native methods as MobiclClassifier.kt
#      on the default OpenCL device (POCL here): builds shufflenet_v2_x0_5,
#      runs it twice, checks the logits, and that bad input and a bad model
#      name come back as Java exceptions carrying mcl_last_error();
#   5. runs it again on the __ANDROID__ build, linked with desktop stand-ins
#      for the NDK's asset and log functions (an asset is a file): an ONNX
#      model from tests/onnx/make_models.py, imported from the asset's bytes,
#      must match NumPy's output; a model with an op mobicl lacks, a broken
#      model and a missing asset must come back as UnsupportedOperation-,
#      IllegalArgument- and FileNotFoundException naming what is wrong.
# Needs a JDK (javac, jni.h): openjdk-17-jdk-headless, installed if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/build-android-host
bash tools/setup.sh
if ! command -v javac >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends openjdk-17-jdk-headless
fi
JAVA_HOME=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}
JINC=(-I"$JAVA_HOME/include" -I"$JAVA_HOME/include/linux")

cmake -S . -B "$OUT" -DCMAKE_BUILD_TYPE=Release -DMOBICL_WERROR=ON -DMOBICL_ANDROID=ON \
  -DMOBICL_TESTS=OFF -DMOBICL_BENCH=OFF >/dev/null
cmake --build "$OUT" -j "$(nproc)" --target mobicl

CFLAGS=(-std=c11 -pedantic -Wall -Wextra -Werror -fPIC -O2 "${JINC[@]}" -Ihost/include -Igraph/include)
cc "${CFLAGS[@]}" -c tools/android/jni_example.c -o "$OUT/jni_example.o"

# The NDK declarations jni_example.c uses, verbatim in signature.
stub=$OUT/ndk-stub/android
mkdir -p "$stub"
cat > "$stub/asset_manager.h" <<'EOF'
#pragma once
#include <sys/types.h>
typedef struct AAssetManager AAssetManager;
typedef struct AAsset AAsset;
enum { AASSET_MODE_UNKNOWN = 0, AASSET_MODE_RANDOM = 1, AASSET_MODE_STREAMING = 2, AASSET_MODE_BUFFER = 3 };
AAsset *AAssetManager_open(AAssetManager *mgr, const char *filename, int mode);
const void *AAsset_getBuffer(AAsset *asset);
off_t AAsset_getLength(AAsset *asset);
void AAsset_close(AAsset *asset);
EOF
cat > "$stub/asset_manager_jni.h" <<'EOF'
#pragma once
#include <jni.h>
#include <android/asset_manager.h>
AAssetManager *AAssetManager_fromJava(JNIEnv *env, jobject assetManager);
EOF
cat > "$stub/log.h" <<'EOF'
#pragma once
typedef enum android_LogPriority { ANDROID_LOG_UNKNOWN = 0, ANDROID_LOG_DEFAULT, ANDROID_LOG_VERBOSE, ANDROID_LOG_DEBUG,
  ANDROID_LOG_INFO, ANDROID_LOG_WARN, ANDROID_LOG_ERROR, ANDROID_LOG_FATAL, ANDROID_LOG_SILENT } android_LogPriority;
int __android_log_print(int prio, const char *tag, const char *fmt, ...) __attribute__((__format__(printf, 3, 4)));
EOF
cc "${CFLAGS[@]}" -D_POSIX_C_SOURCE=200809L -D__ANDROID__ -I"$OUT/ndk-stub" -c tools/android/jni_example.c \
  -o "$OUT/jni_example_android.o"
echo "jni_host_check: jni_example.c compiles (desktop and __ANDROID__ branches)"

# Desktop stand-ins for those NDK functions, so that the __ANDROID__ build
# runs here too: assets are files in $MOBICL_ASSET_DIR, the log is stderr.
cat > "$OUT/ndk-stub/ndk_stub.c" <<'EOF'
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <android/asset_manager.h>
#include <android/asset_manager_jni.h>
#include <android/log.h>
struct AAsset { void *buf; off_t n; };
AAssetManager *AAssetManager_fromJava(JNIEnv *env, jobject m) { (void)env; return (AAssetManager *)m; }
AAsset *AAssetManager_open(AAssetManager *mgr, const char *filename, int mode)
{
    (void)mgr, (void)mode;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", getenv("MOBICL_ASSET_DIR"), filename);
    FILE *f = fopen(path, "rb");
    AAsset *a = f ? calloc(1, sizeof *a) : NULL;
    if (a && fseek(f, 0, SEEK_END) == 0 && (a->n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (a->buf = malloc((size_t)a->n)) && fread(a->buf, 1, (size_t)a->n, f) == (size_t)a->n) {
        fclose(f);
        return a;
    }
    if (f)
        fclose(f);
    if (a)
        free(a->buf);
    free(a);
    return NULL;
}
const void *AAsset_getBuffer(AAsset *a) { return a->buf; }
off_t AAsset_getLength(AAsset *a) { return a->n; }
void AAsset_close(AAsset *a) { free(a->buf); free(a); }
int __android_log_print(int prio, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "logcat %d %s: ", prio, tag);
    int r = vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return r;
}
EOF
cc "${CFLAGS[@]}" -D_POSIX_C_SOURCE=200809L -I"$OUT/ndk-stub" -c "$OUT/ndk-stub/ndk_stub.c" -o "$OUT/ndk_stub.o"

mkdir -p "$OUT/desktop" "$OUT/android"
LIBS=(-ldl -lpthread -lm)
if ar t "$OUT/libmobicl.a" | grep -q onnx.pb-c; then LIBS+=(-lprotobuf-c); fi # built with the ONNX importer
cc -shared -o "$OUT/desktop/libmobicl_jni.so" "$OUT/jni_example.o" "$OUT/libmobicl.a" -Wl,--no-undefined "${LIBS[@]}"
cc -shared -o "$OUT/android/libmobicl_jni.so" "$OUT/jni_example_android.o" "$OUT/ndk_stub.o" "$OUT/libmobicl.a" \
  -Wl,--no-undefined "${LIBS[@]}"
echo "jni_host_check: linked libmobicl_jni.so, desktop and __ANDROID__ builds ($(nm -D --defined-only "$OUT/desktop/libmobicl_jni.so" | grep -c ' Java_') JNI functions)"

jdir=$OUT/java/com/example/mobicl
mkdir -p "$jdir"
cat > "$jdir/MobiclClassifier.java" <<'EOF'
package com.example.mobicl;

/* Same native methods (names and signatures) as MobiclClassifier.kt. */
public class MobiclClassifier {
    private native long nativeCreateZoo(String model, String cacheDir);
    private native long nativeCreateFromAsset(Object assets, String path, String cacheDir);
    private native int[] nativeInputShape(long handle);
    private native String nativeDeviceName(long handle);
    private native float[] nativeRun(long handle, float[] input);
    private native void nativeDestroy(long handle);

    public static void main(String[] args) {
        System.loadLibrary("mobicl_jni");
        MobiclClassifier m = new MobiclClassifier();
        long h = m.nativeCreateZoo("shufflenet_v2_x0_5", args[0]);
        int[] s = m.nativeInputShape(h);
        float[] x = new float[s[0] * s[1] * s[2] * s[3]];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i * 0.01);
        float[] y1 = m.nativeRun(h, x), y2 = m.nativeRun(h, x);
        int best = 0;
        for (int i = 0; i < y1.length; i++) {
            if (Float.isNaN(y1[i]) || y1[i] != y2[i]) throw new AssertionError("logit " + i + " differs between runs");
            if (y1[i] > y1[best]) best = i;
        }
        if (y1.length != 1000) throw new AssertionError("expected 1000 logits, got " + y1.length);
        System.out.println("device " + m.nativeDeviceName(h) + ", input " + java.util.Arrays.toString(s)
                           + ", " + y1.length + " logits, argmax " + best);
        try { m.nativeRun(h, new float[3]); throw new AssertionError("short input accepted"); }
        catch (IllegalArgumentException e) { System.out.println("bad input    -> " + e.getMessage()); }
        try { m.nativeCreateZoo("no_such_net", null); throw new AssertionError("bad model accepted"); }
        catch (IllegalArgumentException e) {
            if (!e.getMessage().contains("no_such_net")) throw new AssertionError("message lacks the name: " + e.getMessage());
            System.out.println("bad model    -> " + e.getMessage());
        }
        if (args.length < 2) { /* the desktop build has no assets */
            try { m.nativeCreateFromAsset(null, "models/x.onnx", null); throw new AssertionError("asset accepted"); }
            catch (UnsupportedOperationException e) { System.out.println("asset (host) -> " + e.getMessage()); }
        } else { /* the __ANDROID__ build; assets from args[1] (tests/onnx/make_models.py) */
            Object assets = new Object();
            long a = m.nativeCreateFromAsset(assets, "tiny.onnx", args[0]);
            float[] xi = npy(args[1] + "/tiny_in.npy"), want = npy(args[1] + "/tiny_out.npy");
            float[] yi = m.nativeRun(a, xi);
            if (yi.length != want.length) throw new AssertionError("asset model: " + yi.length + " outputs, expected " + want.length);
            double worst = 0;
            for (int i = 0; i < yi.length; i++) worst = Math.max(worst, Math.abs(yi[i] - want[i]));
            if (!(worst <= 1e-5)) throw new AssertionError("asset model: max |diff| " + worst + " vs NumPy");
            System.out.println("asset model  -> tiny.onnx, input " + java.util.Arrays.toString(m.nativeInputShape(a))
                               + ", " + yi.length + " outputs, max |diff| vs NumPy " + worst);
            m.nativeDestroy(a);
            try { m.nativeCreateFromAsset(assets, "unsupported_op.onnx", null); throw new AssertionError("unsupported op accepted"); }
            catch (UnsupportedOperationException e) {
                if (!e.getMessage().contains("Sigmoid")) throw new AssertionError("message lacks the op: " + e.getMessage());
                System.out.println("unknown op   -> " + e.getMessage());
            }
            try { m.nativeCreateFromAsset(assets, "dangling.onnx", null); throw new AssertionError("broken ONNX accepted"); }
            catch (IllegalArgumentException e) {
                if (!e.getMessage().contains("nope")) throw new AssertionError("message lacks the input: " + e.getMessage());
                System.out.println("broken model -> " + e.getMessage());
            }
            try { m.nativeCreateFromAsset(assets, "no_such.onnx", null); throw new AssertionError("missing asset accepted"); }
            catch (Exception e) {
                if (!(e instanceof java.io.FileNotFoundException) || !e.getMessage().endsWith("\"no_such.onnx\""))
                    throw new AssertionError("missing asset: " + e);
                System.out.println("no asset     -> " + e.getMessage());
            }
        }
        m.nativeDestroy(h);
        System.out.println("jni_host_check: ok");
    }

    /* float32 .npy (format 1.0, little-endian, C order): the data after the header */
    static float[] npy(String path) {
        try {
            byte[] b = java.nio.file.Files.readAllBytes(java.nio.file.Paths.get(path));
            int off = 10 + ((b[8] & 0xff) | (b[9] & 0xff) << 8);
            java.nio.FloatBuffer f = java.nio.ByteBuffer.wrap(b, off, b.length - off)
                                         .order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            float[] r = new float[f.remaining()];
            f.get(r);
            return r;
        } catch (java.io.IOException e) { throw new AssertionError(e); }
    }
}
EOF
javac -d "$OUT/java" "$jdir/MobiclClassifier.java"
mkdir -p "$OUT/program-cache"
java -Djava.library.path="$OUT/desktop" -cp "$OUT/java" com.example.mobicl.MobiclClassifier "$OUT/program-cache"
# the __ANDROID__ build: an ONNX model from its asset bytes
/usr/bin/python3 tests/onnx/make_models.py "$OUT/assets" >/dev/null
MOBICL_ASSET_DIR="$OUT/assets" java -Djava.library.path="$OUT/android" -cp "$OUT/java" \
  com.example.mobicl.MobiclClassifier "$OUT/program-cache" "$OUT/assets"
