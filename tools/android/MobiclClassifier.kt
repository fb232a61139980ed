// The Kotlin side of tools/android/jni_example.c: copy to
// app/src/main/java/com/example/mobicl/MobiclClassifier.kt (the package and
// class name are part of the JNI function names; rename both together).
package com.example.mobicl

import android.content.Context
import android.graphics.Bitmap
import java.io.File

/**
 * One network on the device's OpenCL GPU (CPU if there is no GPU).
 *
 * Construction compiles the OpenCL kernels for this device (seconds the
 * first time; later starts load them from the binary cache in
 * `cacheDir/mobicl`), so create it off the main thread and keep it.
 * Calls are serialised: a plan is used by one thread at a time.
 * Errors from the library arrive as exceptions whose message is the
 * library's mcl_last_error() (e.g. IllegalStateException "mobicl: cannot
 * create an OpenCL context: OpenCL not available: ...").
 */
class MobiclClassifier private constructor() : AutoCloseable {
    private var handle: Long = 0

    /** A model-zoo network: "shufflenet_v2_x1_0", "mobilenet_v2", "mnasnet1_0", ...
     *  (real architecture, seeded random weights: for latency, not labels). */
    constructor(context: Context, zooModel: String) : this() {
        handle = nativeCreateZoo(zooModel, programCacheDir(context))
    }

    /** An ONNX model from the app's assets, e.g. "models/net.onnx" (opsets
     *  9-17, weights inside the file). Throws UnsupportedOperationException
     *  for an op mobicl does not support (or a library built without
     *  protobuf-c) and IllegalArgumentException for a broken model; the
     *  message says why. */
    constructor(context: Context, assetPath: String, fromAssets: Boolean) : this() {
        require(fromAssets)
        handle = nativeCreateFromAsset(context.assets, assetPath, programCacheDir(context))
    }

    /** [n, c, h, w] of the input, e.g. [1, 3, 224, 224]. */
    val inputShape: IntArray
        @Synchronized get() = nativeInputShape(handle)

    /** The OpenCL device the network runs on, e.g. "QUALCOMM Adreno(TM)". */
    val deviceName: String
        @Synchronized get() = nativeDeviceName(handle)

    /** input: NCHW floats, n*c*h*w of [inputShape]; returns the logits. */
    @Synchronized
    fun run(input: FloatArray): FloatArray = nativeRun(handle, input)

    /** A bitmap scaled to the input size, ImageNet-normalised, as NCHW floats. */
    fun toInput(bitmap: Bitmap): FloatArray {
        val (_, c, h, w) = inputShape.toList()
        require(c == 3) { "the network takes $c channels" }
        val scaled = Bitmap.createScaledBitmap(bitmap, w, h, true)
        val px = IntArray(w * h)
        scaled.getPixels(px, 0, w, 0, 0, w, h)
        val mean = floatArrayOf(0.485f, 0.456f, 0.406f)
        val std = floatArrayOf(0.229f, 0.224f, 0.225f)
        val out = FloatArray(3 * h * w)
        for (i in px.indices) {
            val p = px[i]
            val rgb = floatArrayOf(((p shr 16) and 0xff) / 255f, ((p shr 8) and 0xff) / 255f, (p and 0xff) / 255f)
            for (ch in 0 until 3) out[ch * h * w + i] = (rgb[ch] - mean[ch]) / std[ch]
        }
        return out
    }

    @Synchronized
    override fun close() {
        if (handle != 0L) {
            nativeDestroy(handle)
            handle = 0
        }
    }

    private fun programCacheDir(context: Context): String =
        File(context.cacheDir, "mobicl").apply { mkdirs() }.absolutePath

    private external fun nativeCreateZoo(model: String, cacheDir: String?): Long
    private external fun nativeCreateFromAsset(assets: android.content.res.AssetManager, path: String, cacheDir: String?): Long
    private external fun nativeInputShape(handle: Long): IntArray
    private external fun nativeDeviceName(handle: Long): String
    private external fun nativeRun(handle: Long, input: FloatArray): FloatArray
    private external fun nativeDestroy(handle: Long)

    companion object {
        init {
            System.loadLibrary("mobicl_jni") // libmobicl_jni.so: jni_example.c + the mobicl static library
        }
    }
}
