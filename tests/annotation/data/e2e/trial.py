import json
import os


def square(v):
    return v * v


def cube(v):
    return v * v * v


'''@nni.get_next_parameter()'''
'''@nni.variable(nni.choice(1, 2, 3), name=x)'''
x = 1
'''@nni.variable(nni.uniform(0.0, 1.0), name=y)'''
y = 0.5
'''@nni.function_choice(square(x), cube(x), name=op)'''
z = square(x)
'''@nni.report_intermediate_result(z)'''
'''@nni.report_final_result(z + y)'''
