"""bench.flop's arithmetic counts, checked against a real Keras model of the book's transfer protocol."""

from bench import flop
from core import transfer


def test_multiply_adds_are_the_keras_model_kernels():
    protocol = transfer.PROTOCOLS["book"]
    model = transfer.build_model_a(protocol, seed=0)
    kernels = [layer.kernel.shape for layer in model.layers if hasattr(layer, "kernel")]
    assert flop.dense_multiply_adds(protocol.hidden_units, 8) == [int(a) * int(b) for a, b in kernels]


def test_the_book_model_a_counts():
    # 784-300-100-50-50-50-8: 275,600 multiply-adds; the first layer (235,200) has no input gradient
    assert sum(flop.dense_multiply_adds((300, 100, 50, 50, 50), 8)) == 275_600
    assert flop.forward_flop((300, 100, 50, 50, 50), 8) == 551_200
    assert flop.training_flop((300, 100, 50, 50, 50), 8) == 3 * 551_200 - 2 * 235_200


def test_one_layer_counts_twice_the_forward_without_an_input_gradient():
    assert flop.training_flop((), 10) == 2 * flop.forward_flop((), 10)


def test_matmul_rate_is_measured():
    assert flop.matmul_gflops(size=64, repeats=2) > 0
