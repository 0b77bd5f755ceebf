#!/usr/bin/env python3
"""Counts as a scraper would try to dodge them, against a real gateway in front of the compressing built-in post API:
curl --compressed in four codings, Python requests, byte ranges, a thousand fresh keys while another address holds
3,000 idle connections, then kill -9 and a restart. Loopback only, bounded, stops by itself.
Run from the repository after `mvn -B -q package -DskipTests`:  python3 benchmarks/e2e/scraper_check.py"""
import subprocess, socket, time, json, os, sys, urllib.request, signal
import requests
J=os.path.abspath('gateway/target/tollgate.jar')
W=os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'target/scraper-check'); os.makedirs(W, exist_ok=True); os.chdir(W)
os.makedirs('etc',exist_ok=True)
open('etc/tollgate.yaml','w').write("""listen: 127.0.0.1:28080
upstream: {url: 'http://127.0.0.1:28081'}
admin: {listen: '127.0.0.1:28090', tokenFile: token}
dataDir: ../data
limits: {maxConnectionsPerClient: 100000}
""")
open('etc/token','w').write('scrape-test-token\n')
up=subprocess.Popen(['java','-jar',J,'upstream','--port','28081','--compress'],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
def start():
    return subprocess.Popen(['java','-jar',J,'serve','--config','etc/tollgate.yaml'],stdout=open('gw.log','a'),stderr=subprocess.STDOUT)
def ready():
    for _ in range(600):
        try:
            if urllib.request.urlopen('http://127.0.0.1:28090/readyz',timeout=1).status==200: return
        except Exception: pass
        time.sleep(0.05)
    raise SystemExit('not ready')
def admin(path):
    r=urllib.request.Request('http://127.0.0.1:28090'+path,headers={'Authorization':'Bearer scrape-test-token'})
    return json.loads(urllib.request.urlopen(r).read())
def posts(e):
    try: return admin('/api/v1/entities/'+urllib.parse.quote(e,safe=''))['posts24h']
    except Exception: return 0
import urllib.parse
gw=start(); ready()
U='http://127.0.0.1:28080/2/tweets/search/recent?max_results=100'
H={'Authorization':'Bearer k-scraper-main'}
ent=None
# 1. curl --compressed
for cod in ['gzip','deflate','br','zstd']:
    subprocess.run(['curl','-s','-o','/dev/null','--compressed','-H','Accept-Encoding: '+cod,'-H','Authorization: Bearer k-scraper-main',U],check=True)
# 2. python requests
s=requests.Session()
for i in range(5): assert s.get(U,headers=H).status_code==200
# 3. ranges
for i in range(4): s.get(U,headers=dict(H,Range='bytes=%d-%d'%(i*100,i*100+99)))
top=admin('/api/v1/entities?top=5'); ent=[e for e in top if e['id'].startswith('key:') and e['id'].endswith('main')][0]['id']
print('after curl x4, requests x5, ranges x4:', posts(ent), 'expected', 13*100)
# 4. idle connections from another address (127.0.0.9)
idle=[]
for i in range(3000):
    c=socket.socket(); c.bind(('127.0.0.9',0)); c.connect(('127.0.0.1',28080)); idle.append(c)
# 5. a thousand fresh keys, one page each, while scraper continues
for i in range(1000):
    s.get('http://127.0.0.1:28080/2/tweets/search/recent?max_results=10',headers={'X-Api-Key':'fresh-%d'%i})
for i in range(10): s.get(U,headers=H)
print('after 1000 fresh keys (10 posts each) + 10 more pages, with 3000 idle conns held:', posts(ent), 'expected', 23*100)
m=urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:28090/metrics',headers={'Authorization':'Bearer scrape-test-token'})).read().decode()
print([l for l in m.split('\n') if l.startswith('tollgate_open_connections ') or l.startswith('tollgate_entities_tracked ')])
# 6. wait for a journal flush, kill -9, restart
time.sleep(2.5)
gw.send_signal(signal.SIGKILL); gw.wait()
for c in idle: c.close()
gw=start(); ready()
print('after kill -9 and restart:', posts(ent), 'expected', 23*100)
fresh=sum(posts(e['id']) for e in admin('/api/v1/entities?top=2000') if e['id']!=ent)
print('fresh keys posts after restart:', fresh, 'expected', 1000*10)
for i in range(5): s.get(U,headers=H)
print('after 5 more pages:', posts(ent), 'expected', 28*100)
gw.send_signal(signal.SIGTERM); print('gateway exit', gw.wait(timeout=40)); up.send_signal(signal.SIGTERM); up.wait(timeout=20)
