import time, numpy as np, tjit as theano, tjit.tensor as T, tempfile, gc, sys
from tjit.codegen import jit
def rss(): return int(open('/proc/self/statm').read().split()[1])*4096/1e6
d=tempfile.mkdtemp()
N=int(sys.argv[1]); mode=sys.argv[2]
x,y=T.dvectors('x','y'); v=np.ones(5)
with theano.config.change_flags(cache_dir=d, kernel_cache_mb=float(sys.argv[3])):
  t0=time.time(); r0=None
  for k in range(N):
    e=x
    for b in range(12):
        e = (e + y) if (k>>b)&1 else (e * y)
    f=theano.function([x,y], e, mode=mode); f(v,v); del f
    if k==99: gc.collect(); r0=rss(); t1=time.time()
    if k%250==249: gc.collect(); print(k, round(rss(),1), len(jit._cache), round(jit._cache.nbytes/1e6,2), len(jit._released), sum(jit._loads.values()))
  print("per compile ms", (time.time()-t1)/(N-100)*1e3, "growth KB/fn", (rss()-r0)/(N-100)*1e3)
