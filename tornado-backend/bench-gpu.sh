#!/usr/bin/env bash
# TornadoVM's OpenCL path on an NVIDIA GPU beside the CUDA backend's PTX kernels: flash attention
# forward GFLOP/s, one JMH run (dev.longbow.bench.tornado.TornadoAttentionReport).
#
# Run from the repository root on the GPU machine. Needs:
#   JAVA_HOME        a JDK 25
#   TORNADOVM_HOME   a TornadoVM 5.2.0-jdk25 SDK with the OpenCL backend (default: .device/tornadovm)
#   bench/target/benchmarks.jar, kernels-ptx/target/classes, bindings/target/classes, built with
#                    TORNADOVM_HOME set:  ./mvnw -q -pl bench,kernels-ptx -am package -DskipTests
#   NVIDIA's OpenCL driver (libnvidia-opencl.so.1) and an OpenCL ICD loader (libOpenCL.so.1,
#                    looked up in $TORNADOVM_HOME/lib too).
# Extra arguments go to JMH, e.g. -p seqLen=4096 -wi 1 -i 2.
set -euo pipefail

: "${JAVA_HOME:?set JAVA_HOME to a JDK 25}"
TORNADOVM_HOME=${TORNADOVM_HOME:-$PWD/.device/tornadovm}
export TORNADOVM_HOME
export LD_LIBRARY_PATH="$TORNADOVM_HOME/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# The SDK's argfile names its own directory; write one for where the SDK is now.
argfile=$(mktemp)
sed "s|\${TORNADOVM_HOME}|$TORNADOVM_HOME|g" "$TORNADOVM_HOME/tornado-argfile.template" > "$argfile"

# Containers often lack /etc/OpenCL/vendors: point the ICD loader at NVIDIA's driver directly.
if [ ! -e /etc/OpenCL/vendors/nvidia.icd ]; then
  export OCL_ICD_VENDORS=$(mktemp -d)
  echo libnvidia-opencl.so.1 > "$OCL_ICD_VENDORS/nvidia.icd"
fi

flags=("@$argfile" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Dlongbow.tornado.heap=1g)
cp=bench/target/benchmarks.jar:kernels-ptx/target/classes:bindings/target/classes

# The devices TornadoVM sees; the GPU must be its default device.
"$JAVA_HOME/bin/java" "@$argfile" -m tornado.drivers.common/uk.ac.manchester.tornado.drivers.TornadoDeviceQuery
"$JAVA_HOME/bin/java" "${flags[@]}" -cp "$cp" dev.longbow.bench.tornado.TornadoAttentionReport \
  -p backend=tornado,cuda -p seqLen=4096,16384 "$@"
