package standin

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Check accepts the inputs as they are, with the name the provider
// generates when the program gives none: the old one on an update, so
// that a resource keeps its name.
func (s *Server) Check(_ context.Context, req *pulumirpc.CheckRequest) (_ *pulumirpc.CheckResponse, err error) {
	urn := resource.URN(req.GetUrn())
	defer s.observe(&Call{Method: "Check", Token: string(urn.Type()), URN: string(urn)}, &err)
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	if key := resource.PropertyKey(s.cloud.nameKey(string(urn.Type()))); key != "" && !news.HasValue(key) {
		if olds.HasValue(key) {
			news[key] = olds[key]
		} else {
			name, err := s.cloud.newName(string(urn.Type()), urn.Name(), req.GetRandomSeed())
			if err != nil {
				return nil, err
			}
			news[key] = resource.NewProperty(name)
		}
	}
	inputs, err := marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs}, nil
}

// Diff reports the inputs that changed; a change the cloud cannot make in
// place is a replacement: by the cloud's own rules (names, path keys) and
// by the table of replaces.json.
func (s *Server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (_ *pulumirpc.DiffResponse, err error) {
	urn := resource.URN(req.GetUrn())
	defer s.observe(&Call{Method: "Diff", Token: string(urn.Type()), URN: string(urn), ID: req.GetId()}, &err)
	olds, news, err := diffArgs(req)
	if err != nil {
		return nil, err
	}
	typ := string(urn.Type())
	replaces := func(key string, was, now resource.PropertyValue) bool {
		return s.cloud.replaces(typ, key) || replacesOnChange(typ, key, was, now)
	}
	return diffInputs(olds, news, replaces, req.GetIgnoreChanges()), nil
}

// Create assigns the id and computed outputs and keeps the resource; an id
// that is taken (an explicit name in use) fails, as in the cloud. A
// preview keeps nothing and leaves what the cloud would assign unknown.
func (s *Server) Create(_ context.Context, req *pulumirpc.CreateRequest) (_ *pulumirpc.CreateResponse, err error) {
	urn := resource.URN(req.GetUrn())
	c := &Call{Method: "Create", Token: string(urn.Type()), URN: string(urn), Preview: req.GetPreview()}
	defer s.observe(c, &err)
	in, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	id, props, err := s.apply(urn, "", in, nil, req.GetPreview(), s.store.add)
	if err != nil {
		return nil, err
	}
	if err := s.alsoCreate(urn, in, req.GetPreview()); err != nil {
		return nil, err
	}
	c.ID = id
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, err
}

// Read returns the resource as kept, for refresh and for lookups by id; a
// resource the cloud does not have comes back without an id, which tells
// the engine it is gone.
func (s *Server) Read(_ context.Context, req *pulumirpc.ReadRequest) (_ *pulumirpc.ReadResponse, err error) {
	urn := resource.URN(req.GetUrn())
	defer s.observe(&Call{Method: "Read", Token: string(urn.Type()), URN: string(urn), ID: req.GetId()}, &err)
	r, ok, err := s.store.get(req.GetId())
	if err != nil || !ok {
		return &pulumirpc.ReadResponse{}, err
	}
	props, err := structpb.NewStruct(r.Outputs)
	if err != nil {
		return nil, fmt.Errorf("stored outputs of %s: %w", r.ID, err)
	}
	inputs, err := structpb.NewStruct(r.Inputs)
	if err != nil {
		return nil, fmt.Errorf("stored inputs of %s: %w", r.ID, err)
	}
	return &pulumirpc.ReadResponse{Id: r.ID, Properties: props, Inputs: inputs}, nil
}

// Update keeps the new inputs with the outputs the cloud assigned at
// creation; updating a resource the cloud does not have fails.
func (s *Server) Update(_ context.Context, req *pulumirpc.UpdateRequest) (_ *pulumirpc.UpdateResponse, err error) {
	urn := resource.URN(req.GetUrn())
	defer s.observe(&Call{Method: "Update", Token: string(urn.Type()), URN: string(urn), ID: req.GetId(), Preview: req.GetPreview()}, &err)
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	_, props, err := s.apply(urn, req.GetId(), news, olds, req.GetPreview(), func(r Resource) error {
		ok, err := s.store.replace(r)
		if err == nil && !ok {
			err = fmt.Errorf("updating %s %s: %w", urn.Type(), r.ID, ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, err
}

// Delete forgets the resource; deleting what the cloud does not have is
// not an error, so that a destroy after an out-of-band deletion succeeds.
func (s *Server) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (_ *emptypb.Empty, err error) {
	urn := resource.URN(req.GetUrn())
	defer s.observe(&Call{Method: "Delete", Token: string(urn.Type()), URN: string(urn), ID: req.GetId()}, &err)
	if _, err := s.store.remove(req.GetId()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// alsoCreate keeps what the cloud makes on its own with a resource, unless
// it exists already.
func (s *Server) alsoCreate(urn resource.URN, in resource.PropertyMap, preview bool) error {
	c, ok := s.cloud.(creator)
	if !ok || preview {
		return nil
	}
	for _, r := range c.alsoCreates(string(urn.Type()), in) {
		if err := s.store.add(r); err != nil && !errors.Is(err, ErrAlreadyExists) {
			return err
		}
	}
	return nil
}

// apply computes what the cloud assigns to news (olds: the resource's
// inputs before an update) and, unless it is a preview, saves the result;
// it returns the id and the outputs in wire form.
func (s *Server) apply(urn resource.URN, id string, news, olds resource.PropertyMap, preview bool, save func(Resource) error) (string, *structpb.Struct, error) {
	if r, ok := s.cloud.(refuser); ok && !preview {
		if err := r.refuses(string(urn.Type()), news, s.store); err != nil {
			return "", nil, err
		}
	}
	id, computed, err := s.cloud.compute(string(urn.Type()), urn.Name(), id, news, olds)
	if err != nil {
		return "", nil, err
	}
	if preview {
		out, err := marshal(previewed(news, computed, olds))
		return "", out, err
	}
	out := merged(news, computed)
	if err := s.keep(urn, id, news, out, save); err != nil {
		return "", nil, err
	}
	props, err := marshal(out)
	return id, props, err
}

func (s *Server) keep(urn resource.URN, id string, in, out resource.PropertyMap, save func(Resource) error) error {
	inputs, err := toStored(in)
	if err != nil {
		return err
	}
	outputs, err := toStored(out)
	if err != nil {
		return err
	}
	return save(Resource{URN: string(urn), Type: string(urn.Type()), ID: id, Inputs: inputs, Outputs: outputs})
}
