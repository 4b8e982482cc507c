# -*- coding: utf-8 -*-
"""A trial with every sampling function, named and unnamed, in many kinds of statement."""
from __future__ import annotations
from __future__ import division

import math
import random

from pkg import model


def square(v):
    return v * v


def cube(v):
    return v * v * v


class Config:
    def __init__(self):
        '''@nni.variable(nni.choice(16, 32, 64, 128), name=self.batch_size)'''
        self.batch_size = 32
        '''@nni.variable(nni.loguniform(1e-05, 0.1), name=self.lr)'''
        self.lr = 0.001
        '''@nni.variable(nni.qloguniform(1, 1000, 10), name=self.steps)'''
        self.steps = 100


def train(config, epochs):
    '''@nni.variable(nni.uniform(-1.5, 1.5), name=shift)'''
    shift = 0.0
    '''@nni.variable(nni.quniform(0, 10, 2), name=width)'''
    width = 4
    '''@nni.variable(nni.normal(0, 1), name=noise)'''
    noise = 0
    '''@nni.variable(nni.qnormal(10, 2.5, 0.5), name=depth)'''
    depth = 10
    '''@nni.variable(nni.lognormal(0, 1), name=scale)'''
    scale = 1
    '''@nni.variable(nni.qlognormal(1, 0.5, 1), name=heads)'''
    heads = 2
    '''@nni.variable(nni.randint(1, 10), name=seed)'''
    seed = 3
    '''@nni.variable(nni.choice('relu', 'tanh', None, True, 2.5, -1, (1, 2), [3, 4], {'a': 1}, math.pi, 'last'), name=activation)'''
    activation = 'relu'
    random.seed(seed)
    value = 0.0
    for epoch in range(epochs):
        if epoch % 2 == 0:
            '''@nni.function_choice(square(epoch + shift), cube(epoch + shift), abs(epoch - shift), name=square)'''
            step = square(epoch + shift)
        else:
            '''@nni.function_choice(square(epoch), math.sqrt(epoch) * 2, lambda: 0, name=odd_step)'''
            step = square(epoch)
        value += step * config.lr + width + noise * 0
        '''@nni.report_intermediate_result(value)'''
    try:
        '''@nni.variable(nni.choice(0.1, 0.2, 0.5), name=dropout)'''
        dropout = 0.1
    finally:
        pass
    with open(__file__) as handle:
        '''@nni.variable(nni.choice(1, 2), name=ignored)'''
        ignored = 1
    return value * (1 - dropout) + depth + scale + heads + len(str(activation)) + ignored


def unnamed():
    # A direct call without name= gets a "__line<N>" key from the line it lands on in the
    # expanded file: the comments above are dropped and long lines are wrapped, so N moves.
    '''@nni.variable(nni.uniform(0, 1), name=a)'''
    a = 0.5
    long_line = [a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a]
    bonus = nni.uniform(0, 1) + nni.choice({1: 1, 2: 2}, name='bonus_factor')
    other = nni.normal(0, 2)
    return a + bonus + other + len(long_line)


if __name__ == '__main__':
    '''@nni.get_next_parameter()'''
    result = train(Config(), model.EPOCHS)
    '''@nni.report_final_result({'default': result, 'model': model.describe()})'''
