"""The ONNX ops issue 2 names as the core list (default domain only): the
conformance runner's scope and the model exporter's check both use it."""

SUPPORTED_OPS = frozenset("""
Abs Add And ArgMax ArgMin Attention AveragePool BatchNormalization Cast Ceil Clip
Concat Constant ConstantOfShape Conv ConvTranspose Cos CumSum DepthToSpace
DequantizeLinear Div Dropout Einsum Elu Equal Erf Exp Expand Flatten Floor Gather
GatherElements Gelu Gemm GlobalAveragePool GlobalMaxPool Greater GreaterOrEqual
GroupNormalization GRU HardSigmoid HardSwish Identity If InstanceNormalization
LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax LRN LSTM MatMul Max
MaxPool Mean Min Mish Mod Mul Neg Not Or Pad Pow PRelu QuantizeLinear Range
Reciprocal ReduceL2 ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum
ReduceSumSquare Relu Reshape Resize RMSNormalization RotaryEmbedding Round Selu
Shape Sigmoid Sign Sin Size Slice Softmax Softplus SpaceToDepth Split Sqrt Squeeze
Sub Sum Swish Tanh Tile TopK Transpose Trilu Unsqueeze Upsample Where Xor
""".split())
