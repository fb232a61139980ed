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
#      name come back as Java exceptions carrying mcl_last_error().
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
cc "${CFLAGS[@]}" -D_POSIX_C_SOURCE=200809L -D__ANDROID__ -I"$OUT/ndk-stub" -c tools/android/jni_example.c -o /dev/null
echo "jni_host_check: jni_example.c compiles (desktop and __ANDROID__ branches)"

cc -shared -o "$OUT/libmobicl_jni.so" "$OUT/jni_example.o" "$OUT/libmobicl.a" -Wl,--no-undefined -ldl -lpthread -lm
echo "jni_host_check: linked $OUT/libmobicl_jni.so ($(nm -D --defined-only "$OUT/libmobicl_jni.so" | grep -c ' Java_') JNI functions)"

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
        try { m.nativeCreateFromAsset(null, "models/x.onnx", null); throw new AssertionError("asset accepted"); }
        catch (UnsupportedOperationException e) { System.out.println("asset (host) -> " + e.getMessage()); }
        m.nativeDestroy(h);
        System.out.println("jni_host_check: ok");
    }
}
EOF
javac -d "$OUT/java" "$jdir/MobiclClassifier.java"
mkdir -p "$OUT/program-cache"
java -Djava.library.path="$OUT" -cp "$OUT/java" com.example.mobicl.MobiclClassifier "$OUT/program-cache"
