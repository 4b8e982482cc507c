def layer():
    '''@nni.variable(nni.randint(0, 100), name=units)'''
    units = 50
    return units
