"""The codec: pixels and a block map to JPEG bytes (colour, DCT, plan, quantize, trellis,
bitstream, rate control; `encoder` is the facade). It never imports TensorFlow."""
